/**
 * What the machine can get wrong at start-up, each said in one line: a port already taken
 * (exit 1, nothing left running), a serial device missing or not permitted (the gateway runs,
 * says so once in plain words, reports not ready, and keeps trying).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { writeFile, chmod } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freeTcpPort } from '../integration/gateway-process.js';
import { GatewayChild, runCli, tempDir, writeConfig } from './cli-process.js';

function assertOneLine(stderr: string): void {
  assert.equal(stderr.split('\n').filter((l) => l !== '').length, 1, `one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

describe('cli: a port already in use', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let tcp: Server;
  let tcpPort: number;
  const udp = createSocket('udp4');
  let udpPort: number;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    udpPort = udp.address().port;
    tcp = createServer().listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    tcpPort = (tcp.address() as { port: number }).port;
  });
  after(async () => {
    udp.close();
    tcp.close();
    await cleanup();
  });

  const cases = [
    ['the UDP transport', () => ({ transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }], broker: { listen: [] } }), () => `udp:127.0.0.1:${udpPort}`],
    [
      'the local MQTT listener',
      () => ({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [{ host: '127.0.0.1', port: tcpPort }] } }),
      () => `local MQTT listener cannot listen on 127.0.0.1:${tcpPort}`,
    ],
    [
      'the HTTP endpoint',
      () => ({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] }, http: { enabled: true, port: tcpPort } }),
      () => `HTTP server cannot listen on 127.0.0.1:${tcpPort}`,
    ],
  ] as const;

  for (const [part, config, names] of cases) {
    it(`${part}: exit 1 and one line naming the address`, async () => {
      const file = await writeConfig(dir, `${part.replace(/\W/g, '_')}.json`, config());
      const r = await runCli(['--config', file]);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr);
      assert.ok(r.stderr.startsWith(`mqttsn-gateway: ${names()}`) || r.stderr.includes(names()), r.stderr);
      assert.match(r.stderr, /address already in use: another program \(or another gateway\) has this port/);
    });
  }
});

describe('cli: a serial device that is missing or not permitted', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  async function runWithSerial(path: string, opts: { withoutFileOverride?: boolean } = {}): Promise<{ warning: Record<string, unknown>; health: { status: number; body: Record<string, unknown> }; code: number | null }> {
    const httpPort = await freeTcpPort();
    const file = await writeConfig(dir, `serial-${httpPort}.json`, {
      transports: [{ type: 'serial', path, reconnect: { initialMs: 200, maxMs: 1000 } }],
      broker: { listen: [] },
      http: { enabled: true, port: httpPort },
      // The run as nobody could not write a store file in this folder; the serial check is the point.
      store: { type: 'memory' },
    });
    const gw = await GatewayChild.start(file, opts);
    try {
      const warnings = gw.records().filter((r) => r.level === 40 && typeof r.problem === 'string');
      assert.equal(warnings.length, 1, `one plain warning, got: ${gw.lines.join('\n')}`);
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      const health = { status: res.status, body: (await res.json()) as Record<string, unknown> };
      gw.signal('SIGTERM');
      return { warning: warnings[0]!, health, code: await gw.exitCode() };
    } finally {
      await gw.close();
    }
  }

  it('missing: runs, says where to look, is not ready, and stops cleanly', async () => {
    const path = join(dir, 'ttyUSB-missing');
    const r = await runWithSerial(path);
    assert.equal(r.warning.problem, 'missing');
    assert.match(String(r.warning.msg), /not found: plug the radio in, or find its path with "mqttsn-gateway --list-serial-ports"/);
    assert.equal(r.health.status, 503);
    assert.deepEqual(r.health.body.reasons, [`transport serial:${path} is reopening`]);
    assert.equal(r.code, 0);
  });

  // Root may open anything. As root the CLI runs without the capabilities that override file
  // permissions (it still reads this checkout, wherever CI cloned it), on a device owned by
  // someone else with group 20 (dialout on Debian): joining the group is the fix.
  const uid = process.getuid?.();
  it('not permitted: names the group to join', async () => {
    const path = join(dir, 'ttyUSB-locked');
    await writeFile(path, '');
    const { chown } = await import('node:fs/promises');
    const asRoot = uid === 0;
    if (asRoot) {
      await chown(path, 65534, 20);
      await chmod(path, 0o060);
    } else {
      await chmod(path, 0o000);
    }
    const r = await runWithSerial(path, asRoot ? { withoutFileOverride: true } : {});
    assert.equal(r.warning.problem, 'denied');
    if (asRoot) assert.match(String(r.warning.msg), /permission denied opening serial device .*: add the user to the "dialout" group \(sudo usermod -aG dialout /);
    else assert.match(String(r.warning.msg), /permission denied opening serial device .*dialout/);
    assert.equal(r.health.status, 503);
    assert.equal(r.code, 0);
  });
});
