/**
 * The store's failure seen from outside, with the shipped gateway.config.json (its default
 * SQLite store next to the config, on free loopback ports, plus the `http` section an operator
 * adds), real UDP and a real file that the test deletes: /healthz turns 503 and says the store
 * is why, and a QoS 1 PUBLISH that must be stored (for a sleeping kept session) gets PUBACK 0x01
 * instead of 0x00.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReturnCode } from '../../src/codec/index.js';
import { createGateway, parseConfig, type RunningGateway } from '../../src/index.js';
import { SnClient } from '../integration/gateway-process.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { getJson } from './helpers.js';

type ShippedJson = { transports: Array<Record<string, unknown>>; broker: { listen: Array<{ port: number }> } } & Record<string, unknown>;

describe('a store file deleted under the running gateway', () => {
  let running: RunningGateway;
  let dir: string;
  let udpPort: number;
  const clients: SnClient[] = [];

  before(async () => {
    const json = JSON.parse(await readFile(new URL('../../gateway.config.json', import.meta.url), 'utf8')) as ShippedJson;
    udpPort = await freeUdpPort();
    json.transports[0]!.port = udpPort;
    for (const l of json.broker.listen) l.port = await freeTcpPort();
    json.http = { port: await freeTcpPort() };
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-storehealth-'));
    running = await createGateway(parseConfig(json, 'gateway.config.json', dir));
  });

  after(async () => {
    for (const c of clients) await c.close();
    await running?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('turns /healthz 503 naming the store, and refuses QoS 1 with PUBACK 0x01', async () => {
    const port = running.http!.port;
    assert.equal((await getJson(port, '/healthz')).status, 200);

    const keeper = await SnClient.open(udpPort);
    clients.push(keeper);
    await keeper.connect('keeper', { cleanSession: false });
    keeper.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'site/t' });
    await keeper.next('SUBACK');
    keeper.send({ type: 'DISCONNECT', duration: 3600 });
    await keeper.next('DISCONNECT');

    const pub = await SnClient.open(udpPort);
    clients.push(pub);
    await pub.connect('pub');
    pub.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'site/t' });
    const topicId = (await pub.next('REGACK')).topicId;
    const send = (msgId: number): void => pub.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from('v') });
    send(2);
    assert.equal((await pub.next('PUBACK')).returnCode, ReturnCode.ACCEPTED);

    await unlink(join(dir, 'mqttsn-gateway.db'));
    send(3);
    assert.equal((await pub.next('PUBACK')).returnCode, ReturnCode.CONGESTION);
    const health = await getJson(port, '/healthz');
    assert.equal(health.status, 503);
    const reasons = (health.body as { reasons: string[] }).reasons;
    assert.equal(reasons.length, 1, JSON.stringify(reasons));
    assert.match(reasons[0]!, /^the store cannot keep messages.*mqttsn-gateway\.db was deleted/);
  });
});
