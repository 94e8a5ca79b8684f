/**
 * The configurations a user writes first, through the real CLI: `"upstream": { "url": ... }`
 * bridges everything both ways to a real mosquitto under a client id of its own, `"http":
 * { "port": ... }` serves its endpoints, and a secret's environment variable that is not set is
 * one line naming the field and the variable, from a start as from --check-config.
 *
 * Every config here is the minimal one plus what a test on a shared machine must add: ports picked
 * at run time instead of 1884, 1883 and 9464 (another test or gateway may hold those), and no
 * local MQTT listener (`broker.listen: []`) where the test does not use it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { SimMessage } from '../../firmware-sim/index.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { isMarker, markerDown, markerUp, publisher, snNode, until, watch } from '../bridge/harness.js';
import { expectNothing } from '../helpers/wait.js';
import { GatewayChild, runCli, tempDir, writeConfig } from './cli-process.js';

/** The child's environment without `names`, whatever the test runner's environment holds. */
function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

/** The problem lines of a config error on stderr (the headline is the first line). */
function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('  '));
}

describe('cli: a secret whose environment variable is not set', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  const VAR = 'MQTTSN_TEST_UPSTREAM_PASSWORD';
  const config = (udpPort: number) => ({
    transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
    broker: { listen: [] },
    // Port 1 on the loopback: nothing listens, and nothing should be tried before the variable is there.
    upstream: { url: 'mqtt://127.0.0.1:1', username: 'site1', passwordEnv: VAR },
  });

  it('stops the start (exit 2) with one line naming the field and the variable', async () => {
    const file = await writeConfig(dir, 'start.json', config(await freeUdpPort()));
    const r = await runCli(['--config', file], { env: envWithout(VAR) });
    assert.equal(r.code, 2, r.stderr);
    const lines = problemLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^  ${file}:\\d+:\\d+: upstream\\.passwordEnv: the environment variable ${VAR} is not set`));
    assert.equal(r.stdout, '', 'nothing was started');
  });

  it('makes --check-config fail the same way, and pass once the variable is set', async () => {
    const file = await writeConfig(dir, 'check.json', config(0));
    const r = await runCli(['--config', file, '--check-config'], { env: envWithout(VAR) });
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /is valid/);
    assert.deepEqual(
      problemLines(r.stderr).map((l) => l.replace(/^.*?: (upstream\.)/, '$1').split(';')[0]),
      [`upstream.passwordEnv: the environment variable ${VAR} is not set`],
    );
    const ok = await runCli(['--config', file, '--check-config'], { env: { ...envWithout(VAR), [VAR]: 'secret' } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!ok.stdout.includes('secret'), 'the value is not shown');
  });

  it('prints a config problem found only at start whole, one line per problem (a device key that is not base64)', async () => {
    const key = 'MQTTSN_TEST_AZURE_KEY';
    const file = await writeConfig(dir, 'azure.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }],
      broker: { listen: [] },
      upstream: { profile: 'azure-iot-hub', url: 'mqtts://my-hub.azure-devices.net', clientId: 'dev1', azure: { deviceKeyEnv: key } },
    });
    const r = await runCli(['--config', file], { env: { ...envWithout(key), [key]: 'not a key!' } });
    assert.equal(r.code, 2, r.stderr);
    const lines = problemLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`upstream\\.azure\\.deviceKeyEnv: the environment variable ${key} does not hold a base64 key`));
    assert.ok(!r.stderr.includes('not a key!'), 'the bad key is not echoed');
  });
});

describe('cli: "http": { "port": ... } serves the endpoints', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  const start = async (name: string, http: Record<string, unknown>): Promise<GatewayChild> => {
    const file = await writeConfig(dir, name, { transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }], broker: { listen: [] }, http });
    return GatewayChild.start(file);
  };

  it('is on when the section is there', async () => {
    const port = await freeTcpPort();
    const g = await start('on.json', { port });
    try {
      const running = g.records().find((r) => r.msg === 'gateway running');
      assert.equal(running?.http, `127.0.0.1:${port}`);
      for (const path of ['/metrics', '/healthz', '/api/sessions']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(res.status, 200, path);
        await res.arrayBuffer();
      }
      assert.equal(g.running, true);
    } finally {
      await g.close();
    }
  });

  it('is off when the section says "enabled": false', async () => {
    const port = await freeTcpPort();
    const g = await start('off.json', { port, enabled: false });
    try {
      assert.equal(g.records().find((r) => r.msg === 'gateway running')?.http, null);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    } finally {
      await g.close();
    }
  });
});

describe('cli: "upstream": { "url": ... } bridges every topic both ways to a real mosquitto', () => {
  let mosq: Mosquitto;
  let dir: string;
  let cleanup: () => Promise<void>;
  const closers: Array<() => Promise<unknown>> = [];
  const clientId = `mqttsn-${hostname()}-1`;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    // `log_type subscribe`: the test waits for the bridge's subscription before publishing to it.
    mosq = await Mosquitto.start({ extraConfig: ['log_type subscribe'] });
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await mosq.close();
    await cleanup();
  });

  const minimal = async (udpPort: number): Promise<string> =>
    writeConfig(dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      upstream: { url: mosq.url },
    });

  it('--check-config shows the effective client id and topic rules', async () => {
    const r = await runCli(['--config', await minimal(0), '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as { upstream: { clientId: string; mode: string; topics: unknown[] } };
    assert.equal(shown.upstream.clientId, clientId);
    assert.equal(shown.upstream.mode, 'aggregating');
    assert.deepEqual(shown.upstream.topics, [{ pattern: '#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }]);
  });

  it('starts, connects as mqttsn-<host name>-<gatewayId>, and carries messages up and down', async () => {
    const udpPort = await freeUdpPort();
    const g = await GatewayChild.start(await minimal(udpPort));
    closers.push(() => g.close());
    const starting = g.records().find((r) => r.msg === 'upstream bridge starting');
    assert.equal(starting?.clientId, clientId, 'the client id is in the start-up log');
    await g.waitFor((l) => l.includes('"upstream connected"'));
    await until(() => mosq.log.includes(`as ${clientId} (`), 5000, 'mosquitto saw the client id');
    await until(() => mosq.log.includes(`${clientId} 1 #`), 5000, "the bridge's subscription to # upstream");

    const w = await watch(mosq.url, '#');
    closers.push(() => w.close());
    const sensor = await snNode(udpPort, 'sensor-1');
    closers.push(() => sensor.close());
    const got: SimMessage[] = [];
    sensor.on('message', (m) => got.push(m));
    await sensor.subscribe('cmd/#', 1);
    await sensor.subscribe('sensors/#', 1);

    // Up: an MQTT-SN publish reaches a subscriber on mosquitto, once.
    await sensor.publish({ topic: 'sensors/kitchen/temp', payload: '21.5', qos: 1 });
    await until(() => w.got.length >= 1, 5000, 'the message upstream');
    // Down: a publish on mosquitto reaches the subscribed MQTT-SN client.
    const pub = await publisher(mosq.url);
    closers.push(() => pub.endAsync());
    await pub.publishAsync('cmd/lamp', 'on', { qos: 1 });
    await until(() => got.some((m) => m.topic === 'cmd/lamp'), 5000, 'the command down at the sensor');

    // mosquitto sends the gateway its own message back (MQTT 3.1.1 has no "no local"): it must
    // neither reach the sensor a second time nor go up again. The echoes came down before a
    // marker sent down now; what the bridge would send up again goes before a marker sent up.
    const real = <T extends { payload: string | Buffer }>(list: readonly T[]): T[] => list.filter((m) => !isMarker(m.payload));
    await expectNothing(
      'an echo delivered again or sent up again',
      async () => {
        await markerDown(pub, got, 'cmd/marker');
        await markerUp(sensor, w, 'sensors/marker');
      },
      () => [...real(w.got).slice(2), ...real(got).slice(2)],
    );
    assert.deepEqual(
      real(w.got).map((m) => [m.topic, m.payload]),
      [
        ['sensors/kitchen/temp', '21.5'],
        ['cmd/lamp', 'on'],
      ],
    );
    assert.deepEqual(
      real(got)
        .map((m) => [m.topic, m.payload.toString()])
        .sort(),
      [
        ['cmd/lamp', 'on'],
        ['sensors/kitchen/temp', '21.5'],
      ],
    );
  });
});
