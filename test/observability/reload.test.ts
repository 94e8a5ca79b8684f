/**
 * SIGHUP through the real CLI: the log level and predefined topics change under a connected
 * client without dropping it; other changes are named as needing a restart; a broken file
 * changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { Gateway } from '../../src/gateway/gateway.js';
import { applyReload, canReloadAuth, canReloadPredefinedTopics, planReload } from '../../src/cli/reload.js';
import { parseConfig } from '../../src/config/index.js';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { GatewayChild, tempDir, writeConfig } from '../cli/cli-process.js';
import { getJson, until } from './helpers.js';


describe('observability: SIGHUP reload', () => {
  let cleanup: () => Promise<void>;
  let file: string;
  let gw: GatewayChild;
  let client: SnClient;
  let base: Record<string, unknown>;
  let udpPort: number;
  let mqttPort: number;
  let httpPort: number;

  before(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    udpPort = await freeUdpPort();
    mqttPort = await freeTcpPort();
    httpPort = await freeTcpPort();
    base = {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [{ host: '127.0.0.1', port: mqttPort }] },
      timers: { advertiseIntervalSec: 0 },
      http: { enabled: true, port: httpPort },
      predefinedTopics: { '1': 'hup/one' },
    };
    file = await writeConfig(t.dir, 'gateway.config.json', base);
    gw = await GatewayChild.start(file);
    client = await SnClient.open(udpPort);
    await client.connect('hup-1', { keepAlive: 60 });
  });

  after(async () => {
    await client?.close();
    if (gw !== undefined) {
      gw.signal('SIGTERM');
      assert.equal(await gw.exitCode(), 0);
    }
    await cleanup?.();
  });

  async function reload(config: unknown): Promise<Record<string, unknown>> {
    const before = gw.lines.length;
    await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
    gw.signal('SIGHUP');
    await until(() => gw.lines.slice(before).some((l) => l.includes('"configuration reloaded"') || l.includes('"reload: the configuration is not valid')));
    return gw.records().slice(-5).reverse().find((r) => r.msg === 'configuration reloaded' || String(r.msg).startsWith('reload:'))!;
  }

  it('applies a new log level at once, keeping the session', async () => {
    const garbage = Buffer.from('0303', 'hex');
    client.sendRaw(garbage);
    client.send({ type: 'PINGREQ' });
    await client.next('PINGRESP');
    assert.equal(gw.lines.some((l) => l.includes('malformed frame dropped')), false, 'debug is off at info');

    const r = await reload({ ...base, log: { level: 'debug' } });
    assert.deepEqual(r.applied, ['log.level']);
    client.sendRaw(garbage);
    await gw.waitFor((l) => l.includes('malformed frame dropped'), 3000);

    // Same client, same session: no new CONNECT needed.
    client.send({ type: 'PINGREQ' });
    await client.next('PINGRESP');
    const s = await getJson(httpPort, '/api/sessions/hup-1');
    assert.equal((s.body as { state: string }).state, 'active');
  });

  it('names changes that need a restart, and applies none of them', async () => {
    const r = await reload({ ...base, log: { level: 'debug' }, gatewayId: 7, limits: { maxSessions: 5 } });
    assert.deepEqual(r.restartNeeded, ['gatewayId', 'limits']);
    // Logged right after "configuration reloaded", possibly in the next chunk of the child's stdout.
    await gw.waitFor((l) => l.includes('changes to gatewayId, limits take effect at the next start'), 5000);
  });

  it('keeps everything when the new file is not valid', async () => {
    const r = await reload({ ...base, log: { level: 'loud' } });
    assert.equal(r.msg, 'reload: the configuration is not valid; nothing was changed');
    const issues = r.issues as Array<{ path: string }>;
    assert.deepEqual(issues.map((i) => i.path), ['log.level']);
    client.send({ type: 'PINGREQ' });
    await client.next('PINGRESP');
  });

  it('has the gateway hook that reloads predefined topics', () => {
    assert.ok(canReloadPredefinedTopics(Gateway.prototype));
  });

  it('applies new predefined topics without dropping sessions', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    try {
      const got: string[] = [];
      sub.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
      await sub.subscribeAsync('hup/#', { qos: 0 });
      const r = await reload({ ...base, log: { level: 'debug' }, predefinedTopics: { '1': 'hup/one', '2': 'hup/two' } });
      assert.ok((r.applied as string[]).includes('predefinedTopics'), JSON.stringify(r));
      client.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: Buffer.from('2'), topicIdType: 'predefined', topicId: 2 });
      await until(() => got.length === 1);
      assert.deepEqual(got, ['hup/two=2']);
    } finally {
      await sub.endAsync();
    }
  });

  // Last: it takes the session of the shared client away.
  it('applies new auth: a connected client no longer allowed is disconnected and refused', async () => {
    const r = await reload({ ...base, log: { level: 'debug' }, predefinedTopics: { '1': 'hup/one', '2': 'hup/two' }, auth: { clients: [{ clientId: 'someone-else' }] } });
    assert.deepEqual(r.applied, ['auth'], JSON.stringify(r));
    await client.next('DISCONNECT');
    await gw.waitFor((l) => l.includes('auth reloaded: sessions and rights no longer allowed were removed') && l.includes('hup-1'), 3000);
    assert.equal((await getJson(httpPort, '/api/sessions/hup-1')).status, 404);
    client.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'hup-1' });
    assert.equal((await client.next('CONNACK')).returnCode, 3);
  });
});

describe('observability: reload planning', () => {
  const config = (extra: Record<string, unknown> = {}) => parseConfig({ transports: [{ type: 'udp', port: 0 }], ...extra });

  it('sees nothing to do for the same file', () => {
    assert.deepEqual(planReload(config(), config()), { restartNeeded: [] });
  });

  it('applies the log level, and predefined topics where the gateway can take them', () => {
    const running = config();
    const next = config({ log: { level: 'warn' }, predefinedTopics: { '5': 'a/b' } });
    const plan = planReload(running, next);
    const logger = { level: 'info' };
    let table: Readonly<Record<string, string>> | undefined;
    const withHook = applyReload(running, plan, { logger, gateway: { setPredefinedTopics: (t: Readonly<Record<string, string>>) => (table = t) } });
    assert.equal(logger.level, 'warn');
    assert.deepEqual(table, { '5': 'a/b' });
    assert.deepEqual(withHook.applied, ['log.level', 'predefinedTopics']);
    assert.deepEqual(withHook.config.predefinedTopics, { '5': 'a/b' });

    const withoutHook = applyReload(running, plan, { logger: { level: 'info' }, gateway: {} });
    assert.deepEqual(withoutHook.applied, ['log.level']);
    assert.deepEqual(withoutHook.restartNeeded, ['predefinedTopics']);
    assert.deepEqual(withoutHook.config.predefinedTopics, {}, 'what was not applied stays as it runs');
  });

  it('applies auth where the gateway can take it', () => {
    const running = config();
    const next = config({ auth: { clients: [{ clientId: 'a' }], takeover: 'deny' } });
    const plan = planReload(running, next);
    assert.deepEqual(plan.restartNeeded, []);
    let given: unknown;
    const withHook = applyReload(running, plan, { logger: { level: 'info' }, gateway: { setAuth: (a: unknown) => (given = a) } });
    assert.deepEqual(withHook.applied, ['auth']);
    assert.deepEqual(given, next.auth);
    assert.deepEqual(withHook.config.auth, next.auth);
    assert.ok(canReloadAuth(Gateway.prototype));

    const withoutHook = applyReload(running, plan, { logger: { level: 'info' }, gateway: {} });
    assert.deepEqual(withoutHook.restartNeeded, ['auth']);
    assert.deepEqual(withoutHook.config.auth, running.auth);
  });
});
