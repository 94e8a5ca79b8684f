/**
 * MQTT-SN 1.2 and 2.0 on one UDP port of the gateway as users run it (the CLI on a config file,
 * the shipped defaults otherwise): a 1.2 client, a 2.0 client written here from raw bytes and the
 * project's 2.0 codec, and an MQTT subscriber on the broker listener, exchanging messages through
 * the broker core. Each MQTT-SN client must receive only frames of its own version.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import * as v2 from '../../src/codec/v2/index.js';
import { scaled } from '../helpers/time-scale.js';
import { until } from '../helpers/wait.js';
import { SnClient, startGateway, type GatewayProcess } from './gateway-process.js';
import { Sn2Client } from './sn2-client.js';

describe('1.2 and 2.0 clients on one gateway port', () => {
  let gw: GatewayProcess;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
  });

  it('carries messages both ways through the broker core, each client hearing only its own version', async () => {
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
    await watcher.subscribeAsync('mix/#', { qos: 1 });

    const old = await SnClient.open(gw.udpPort);
    await old.connect('mix-12');
    old.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'mix/to12' });
    assert.equal((await old.next('SUBACK')).returnCode, 0);
    old.send({ type: 'REGISTER', topicId: 0, msgId: 2, topicName: 'mix/to20' });
    const toNew = await old.next('REGACK');

    const neu = await Sn2Client.open(gw.udpPort);
    // CONNECT, Clean Start, Packet Identifier 1, version 2, Keep Alive 60, client id "mix-20", by hand [3.1].
    neu.sendRaw('10' + '01' + '01' + '0001' + '02' + '003c' + '0000' + Buffer.from('mix-20').toString('hex'));
    const connack = await neu.next('CONNACK');
    assert.deepEqual([connack.reasonCode, connack.packetId], [0, 1]);
    neu.send({ type: 'SUBSCRIBE', noLocal: true, qos: 1, retainAsPublished: false, retainHandling: 0, packetId: 2, topicType: 'filter', topicFilter: 'mix/to20' });
    const suback = await neu.next('SUBACK');
    assert.deepEqual([suback.reasonCode, suback.topicType], [1, 'session']);

    // 2.0 -> 1.2: QoS 1 with a full Topic Name (no REGISTER needed in 2.0).
    neu.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 3, topicType: 'name', topicName: 'mix/to12', payload: Buffer.from('hello 1.2') });
    assert.equal((await neu.next('PUBACK')).reasonCode ?? 0, 0);
    const at12 = await old.next('PUBLISH');
    assert.equal(at12.payload.toString(), 'hello 1.2');
    old.send({ type: 'PUBACK', topicId: 'topicId' in at12 ? at12.topicId : 0, msgId: at12.msgId, returnCode: 0 });

    // 1.2 -> 2.0: QoS 1 on the topic id it registered; the 2.0 client gets it on its SUBACK alias.
    old.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 4, topicIdType: 'normal', topicId: toNew.topicId, payload: Buffer.from('hello 2.0') });
    assert.equal((await old.next('PUBACK')).returnCode, 0);
    const at20 = await neu.next('PUBLISH');
    assert.deepEqual([at20.payload.toString(), at20.topicType, 'topicAlias' in at20 ? at20.topicAlias : -1], ['hello 2.0', 'session', suback.topicAlias]);
    neu.send({ type: 'PUBACK', packetId: at20.packetId! });

    // A 2.0 PINGREQ on the same port is answered in 2.0 with its Packet Identifier.
    neu.sendRaw('040c0042');
    assert.equal((await neu.next('PINGRESP')).packetId, 0x42);
    neu.sendRaw('030e00'); // DISCONNECT: never answered

    await until(() => seen.length >= 2, scaled(5000), 'both messages at the MQTT subscriber');
    assert.deepEqual(seen.sort(), ['mix/to12=hello 1.2', 'mix/to20=hello 2.0']);
    assert.deepEqual(old.badFrames, [], 'the 1.2 client got nothing it cannot read');
    assert.deepEqual(neu.notV2, [], 'the 2.0 client got nothing but 2.0');
    assert.deepEqual(neu.got.map((p) => p.type), [], 'nothing else for the 2.0 client');
    await old.close();
    await neu.close();
    await watcher.endAsync();
  });
  it('wakes a 2.0 sleeper whose address changed through Connection Encapsulation and delivers its message there', async () => {
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    const before = await Sn2Client.open(gw.udpPort);
    // CONNECT with Net Addr (0x20) and Clean Start, Keep Alive 60, client "mover" [3.1.2.6].
    before.send({ type: 'CONNECT', cleanStart: true, allowNetworkAddressChanges: true, allowServerSuggestedValues: false, packetId: 1, protocolVersion: 2, keepAlive: 60, maxPacketSize: 0, clientId: 'mover' });
    assert.equal((await before.next('CONNACK')).reasonCode, 0);
    before.send({ type: 'SUBSCRIBE', noLocal: false, qos: 1, retainAsPublished: false, retainHandling: 0, packetId: 2, topicType: 'filter', topicFilter: 'mix/move' });
    const suback = await before.next('SUBACK');
    before.send({ type: 'SLEEPREQ', retainTopicAliases: true, packetId: 3, sleepDuration: 60 });
    await before.next('SLEEPRESP');
    await watcher.publishAsync('mix/move', 'while you slept', { qos: 1 });
    await before.close();

    // The same device from a new source port (a NAT rebinding): PINGREQ inside a Connection Encapsulation.
    const after = await Sn2Client.open(gw.udpPort);
    after.send({ type: 'CONNECTION_ENCAPSULATION', clientId: 'mover', packet: v2.encode({ type: 'PINGREQ', packetId: 4 }) });
    const pub = await after.next('PUBLISH');
    assert.deepEqual([pub.payload.toString(), 'topicAlias' in pub ? pub.topicAlias : -1], ['while you slept', suback.topicAlias]);
    after.send({ type: 'PUBACK', packetId: pub.packetId! });
    assert.equal((await after.next('PINGRESP')).packetId, 4);
    assert.deepEqual(after.notV2, []);
    await after.close();
    await watcher.endAsync();
  });
});
