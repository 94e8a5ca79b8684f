/**
 * The local MQTT listener's passwords from the CLI: `--hash-password USER` makes a line of the
 * password file from a password on stdin; a gateway started on a file of such lines takes them,
 * refuses a bad file with exit 2, and reads the file again on SIGHUP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parseHash, verifyPassword } from '../../src/broker/passwords.js';
import { GatewayChild, runCli, tempDir, writeConfig } from './cli-process.js';
import { freeTcpPort, freeUdpPort } from '../integration/gateway-process.js';

describe('cli: --hash-password', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('prints USER:hash for the password on stdin (without its line end) and exits 0', async () => {
    const r = await runCli(['--hash-password', 'alice'], { input: 'open sesame\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const m = /^alice:(scrypt\$\S+)\n$/.exec(r.stdout);
    assert.ok(m !== null, r.stdout);
    const hash = parseHash(m[1]!);
    assert.ok(typeof hash !== 'string', typeof hash === 'string' ? hash : '');
    assert.equal(await verifyPassword(Buffer.from('open sesame'), hash), true);
    assert.equal(await verifyPassword(Buffer.from('open sesame\n'), hash), false);
  });

  for (const [label, args, input, words] of [
    ['no password on stdin', ['--hash-password', 'alice'], '', 'no password on stdin'],
    ['a user name with a colon', ['--hash-password', 'a:b'], 'pw\n', "contains ':'"],
    ['no user name', ['--hash-password'], 'pw\n', '--hash-password <value>'],
    ['another action too', ['--hash-password', 'alice', '--check-config'], 'pw\n', 'choose one of'],
  ] as const) {
    it(`${label}: exit 2 with the reason on stderr`, async () => {
      const r = await runCli(args, { input });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(words), r.stderr);
      assert.equal(r.stdout, '');
    });
  }

  it('a gateway whose broker.auth names a file of such lines takes the password, and refuses others', async () => {
    const line = await runCli(['--hash-password', 'app'], { input: 'pa55\n' });
    assert.equal(line.code, 0, line.stderr);
    await writeFile(join(dir, 'listener.passwd'), `# local applications\n${line.stdout}`);
    const mqttPort = await freeTcpPort();
    const config = await writeConfig(dir, 'auth.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }],
      broker: { listen: [{ host: '127.0.0.1', port: mqttPort }], auth: { passwordFile: 'listener.passwd' } },
      store: { type: 'memory' },
      timers: { advertiseIntervalSec: 0 },
    });
    const gw = await GatewayChild.start(config);
    try {
      const url = `mqtt://127.0.0.1:${mqttPort}`;
      const ok = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'app', password: 'pa55' });
      await ok.endAsync();
      await assert.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'app', password: 'wrong' }), (err: { code?: number }) => err.code === 4);
      await assert.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0 }), (err: { code?: number }) => err.code === 5);
    } finally {
      gw.signal('SIGINT');
      assert.equal(await gw.exitCode(), 0);
    }
  });

  it('a malformed password file stops the start with exit 2, naming the field and the line', async () => {
    await writeFile(join(dir, 'bad.passwd'), 'app:scrypt$nonsense\n');
    const config = await writeConfig(dir, 'bad-auth.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      broker: { listen: [{ host: '127.0.0.1', port: 0 }], auth: { passwordFile: 'bad.passwd' } },
      store: { type: 'memory' },
    });
    const r = await runCli(['--config', config, '--check-config']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /broker\.auth\.passwordFile: .*bad\.passwd line 1: user "app": expected a hash/);
  });
});

describe('cli: SIGHUP reads the listener password file again', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('lets a user added since in, and keeps the users when the file turns bad', async () => {
    const line = async (user: string, pw: string): Promise<string> => {
      const r = await runCli(['--hash-password', user], { input: `${pw}\n` });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const file = join(dir, 'passwd');
    await writeFile(file, await line('first', 'one'));
    const mqttPort = await freeTcpPort();
    const config = await writeConfig(dir, 'hup.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }],
      broker: { listen: [{ host: '127.0.0.1', port: mqttPort }], auth: { passwordFile: 'passwd' } },
      store: { type: 'memory' },
      timers: { advertiseIntervalSec: 0 },
    });
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const connack = async (username: string, password: string): Promise<number> => {
      try {
        await (await mqtt.connectAsync(url, { reconnectPeriod: 0, username, password })).endAsync();
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    };
    const gw = await GatewayChild.start(config);
    try {
      assert.equal(await connack('second', 'two'), 4, 'not there yet');
      await writeFile(file, (await line('first', 'one')) + (await line('second', 'two')));
      gw.signal('SIGHUP');
      await gw.waitFor((l) => l.includes('listener password file read again') && l.includes('"users":2'));
      assert.equal(await connack('second', 'two'), 0);

      await writeFile(file, 'second:broken\n');
      gw.signal('SIGHUP');
      const bad = await gw.waitFor((l) => l.includes('listener password file is not valid'));
      assert.match(bad, /line 1/);
      assert.equal(await connack('first', 'one'), 0, 'the users so far stay');
    } finally {
      gw.signal('SIGINT');
      assert.equal(await gw.exitCode(), 0);
    }
  });
});
