/**
 * The gateway as users run it: the CLI on a config file, MQTT-SN over real UDP on loopback on
 * one side, a real MQTT client (MQTT.js) on the local broker listener on the other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { scrape, valueOf } from '../observability/helpers.js';
import { freeTcpPort } from '../helpers/ports.js';
import { expectNothing, until } from '../helpers/wait.js';
import { SnClient, startGateway, type GatewayProcess } from './gateway-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Collects what an MQTT subscriber receives. */
async function subscriber(port: number, filter: string): Promise<{ client: MqttClient; got: Array<{ topic: string; payload: string; retain: boolean; qos: number }> }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const got: Array<{ topic: string; payload: string; retain: boolean; qos: number }> = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
  await client.subscribeAsync(filter, { qos: 2 });
  return { client, got };
}

describe('gateway end to end over UDP and MQTT', () => {
  let gw: GatewayProcess;
  /** the operations endpoint, read by the tests that wait for the gateway's state */
  let httpPort: number;
  const open: Array<{ close(): unknown }> = [];

  before(async () => {
    httpPort = await freeTcpPort();
    gw = await startGateway({ predefinedTopics: { '16': 'beacons/1' }, http: { enabled: true, host: '127.0.0.1', port: httpPort } });
  });
  after(async () => {
    for (const c of open) await c.close();
    assert.equal(await gw.stop(), 0, 'Ctrl-C stops the gateway cleanly');
  });

  const sn = async (): Promise<SnClient> => {
    const c = await SnClient.open(gw.udpPort);
    open.push(c);
    return c;
  };
  const sub = async (filter: string): Promise<Awaited<ReturnType<typeof subscriber>>['got']> => {
    const s = await subscriber(gw.mqttPort, filter);
    open.push({ close: () => s.client.endAsync() });
    return s.got;
  };

  it('carries QoS 0, 1 and 2 from a sensor to an MQTT subscriber, exactly once', async () => {
    const got = await sub('e2e/pub/#');
    const c = await sn();
    await c.connect('e2e-pub');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'e2e/pub/temp' });
    const reg = await c.next('REGACK');
    const topic = { topicIdType: 'normal' as const, topicId: reg.topicId };
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: Buffer.from('q0'), ...topic });
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 2, payload: Buffer.from('q1'), ...topic });
    assert.equal((await c.next('PUBACK')).returnCode, 0);
    const q2 = { type: 'PUBLISH' as const, dup: false, qos: 2 as const, retain: false, msgId: 3, payload: Buffer.from('q2'), ...topic };
    c.send(q2);
    await c.next('PUBREC');
    c.send({ ...q2, dup: true });
    await c.next('PUBREC');
    c.send({ type: 'PUBREL', msgId: 3 });
    await c.next('PUBCOMP');
    await until(() => got.length >= 3, 5000, 'three messages at the subscriber');
    // A second copy of q2 (from the repeated PUBLISH) would reach the subscriber before a later
    // QoS 2 message from the same client: that one is the barrier.
    await expectNothing(
      'a second copy',
      async () => {
        c.send({ ...q2, msgId: 4, payload: Buffer.from('end') });
        await c.next('PUBREC');
        c.send({ type: 'PUBREL', msgId: 4 });
        await c.next('PUBCOMP');
        await until(() => got.some((m) => m.payload === 'end'), 5000, 'the marker at the subscriber');
      },
      () => got.slice(3).filter((m) => m.payload !== 'end'),
    );
    assert.deepEqual(got.map((m) => m.payload), ['q0', 'q1', 'q2', 'end']);
  });

  it('REGISTERs a wildcard match before publishing an MQTT message to a sensor', async () => {
    const c = await sn();
    await c.connect('e2e-sub');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'e2e/cmd/+' });
    assert.equal((await c.next('SUBACK')).topicId, 0);
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    open.push({ close: () => pub.endAsync() });
    await pub.publishAsync('e2e/cmd/lamp', 'on', { qos: 1 });
    const reg = await c.next('REGISTER');
    assert.equal(reg.topicName, 'e2e/cmd/lamp');
    assert.deepEqual(c.pending(), [], 'no PUBLISH before the REGACK');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p = await c.next('PUBLISH');
    assert.equal(p.payload.toString(), 'on');
    assert.equal(p.topicIdType === 'normal' && p.topicId, reg.topicId);
    c.send({ type: 'PUBACK', topicId: reg.topicId, msgId: p.msgId, returnCode: 0 });
  });

  it('takes QoS -1 from a socket that never connected', async () => {
    const got = await sub('beacons/#');
    const c = await sn();
    c.sendRaw(Buffer.from('090c61001000003432', 'hex'));
    await until(() => got.length === 1, 5000, 'the QoS -1 message at the subscriber');
    assert.deepEqual(got[0], { topic: 'beacons/1', payload: '42', retain: false, qos: 0 });
  });

  it('delivers a retained message after SUBACK', async () => {
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    await pub.publishAsync('e2e/ret/state', 'ready', { qos: 1, retain: true });
    await pub.endAsync();
    const c = await sn();
    await c.connect('e2e-ret');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'e2e/ret/state' });
    const ack = await c.next('SUBACK');
    const p = await c.next('PUBLISH');
    assert.equal(p.retain, true);
    assert.equal(p.payload.toString(), 'ready');
    assert.equal(p.topicIdType === 'normal' && p.topicId, ack.topicId);
  });

  it('publishes the will of a sensor that falls silent', async () => {
    const got = await sub('e2e/will/#');
    const c = await sn();
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 1, clientId: 'e2e-will' });
    await c.next('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'e2e/will/status' });
    await c.next('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('offline') });
    await c.next('CONNACK');
    await until(() => got.length === 1, 5000, 'the will'); // after 1.5 x 1 s keep-alive
    assert.equal(got[0]?.payload, 'offline');
  });

  it('buffers for a sleeping sensor and flushes on wake, PINGRESP last', async () => {
    const c = await sn();
    await c.connect('e2e-sleep');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'e2e/sleep/cmd' });
    const ack = await c.next('SUBACK');
    c.send({ type: 'DISCONNECT', duration: 30 });
    await c.next('DISCONNECT');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    await pub.publishAsync('e2e/sleep/cmd', 'a', { qos: 1 });
    await pub.publishAsync('e2e/sleep/cmd', 'b', { qos: 1 });
    await pub.endAsync();
    // Barrier: the gateway has taken both messages into the sleeper's buffer (a send, if it
    // wrongly made one, would have been decided at that moment).
    await expectNothing(
      'a message sent to a sleeper',
      () => until(async () => valueOf((await scrape(httpPort)).samples, 'mqttsn_buffered_messages') === 2, 5000, 'two messages buffered'),
      () => c.pending(),
    );
    c.send({ type: 'PINGREQ', clientId: 'e2e-sleep' });
    // The id was not told in this connection's REGISTER sense: SUBACK gave it, so no REGISTER is needed.
    for (const want of ['a', 'b']) {
      const p = await c.next('PUBLISH');
      assert.equal(p.payload.toString(), want);
      c.send({ type: 'PUBACK', topicId: ack.topicId, msgId: p.msgId, returnCode: 0 });
    }
    await c.next('PINGRESP');
  });

  it('serves IPv6 sensors too', async () => {
    const v6 = await startGateway({}, { udpHost: '::1' });
    try {
      const c = await SnClient.open(v6.udpPort, '::1');
      await c.connect('e2e-v6');
      c.send({ type: 'PINGREQ' });
      await c.next('PINGRESP');
      await c.close();
    } finally {
      assert.equal(await v6.stop(), 0);
    }
  });
});

describe('gateway CLI', () => {
  it('refuses a bad config with exit code 2 and a line naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-cli-'));
    try {
      const file = join(dir, 'bad.json');
      await writeFile(file, JSON.stringify({ transports: [{ type: 'udp', host: '127.0.0.1', prot: 1884 }] }));
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(proc, 'exit')) as [number];
      assert.equal(code, 2);
      assert.match(err, /transports\[0\]/);
      assert.match(err, /did you mean "port"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
