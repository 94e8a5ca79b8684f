/**
 * What failover behind a front end relies on (issue #21): when an instance dies its devices'
 * next packets reach another instance, which has no session for them. Whatever a session needs
 * (PUBLISH QoS 0-2, PINGREQ, REGISTER, SUBSCRIBE, an acknowledgement) is answered DISCONNECT,
 * which an MQTT-SN 1.2 client takes as "CONNECT again" (MQTT-SN.md §4.1), and nothing is
 * published for it; its CONNECT then works as anywhere. Two gateway cores on the real in-memory
 * transport, the device the same peer on both, as the front end makes it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { decode, DecodeError, encode, type Packet } from '../../src/codec/index.js';
import { defaultConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { Queue } from '../transport/helpers.js';
import { MemoryBroker } from './harness.js';

async function instance(id: string) {
  const broker = new MemoryBroker();
  const hub = new MemoryTransport({ id });
  const gw = new Gateway({ options: defaultConfig(), broker, clock: new FakeClock(0) });
  gw.attach(hub);
  await hub.open();
  await gw.start();
  const device = hub.connect('sensor-7');
  const got = new Queue<Packet>();
  device.on('frame', (_p, f) => {
    const p = decode(f);
    assert.ok(!(p instanceof DecodeError), f.toString('hex'));
    got.push(p);
  });
  const send = (p: Packet): Promise<void> => device.send(device.gateway, encode(p));
  return { broker, gw, got, send };
}

const connect = { type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: 'sensor-7' } as const;
const publish = (qos: 0 | 1 | 2, msgId: number): Packet => ({ type: 'PUBLISH', dup: false, qos, retain: false, msgId, topicIdType: 'normal', topicId: 1, payload: Buffer.from('21.5') });

describe('gateway: a device that moved to an instance with no session for it', () => {
  it('is told DISCONNECT for every packet that needs a session, publishes nothing, and is served once it CONNECTs again', async () => {
    const a = await instance('gw-a');
    await a.send(connect);
    assert.equal((await a.got.next()).type, 'CONNACK');
    await a.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'site/temp' });
    assert.equal((await a.got.next()).type, 'REGACK');

    // Instance A is gone; the front end now sends the device to B.
    await a.gw.stop();
    const b = await instance('gw-b');
    const needSession: Packet[] = [
      publish(1, 2),
      publish(0, 0),
      publish(2, 3),
      { type: 'PINGREQ' },
      { type: 'REGISTER', topicId: 0, msgId: 4, topicName: 'site/temp' },
      { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 5, topicIdType: 'normal', topicName: 'site/cmd' },
      { type: 'PUBACK', topicId: 1, msgId: 6, returnCode: 0 },
    ];
    for (const p of needSession) {
      await b.send(p);
      assert.deepEqual(await b.got.next(), { type: 'DISCONNECT' }, `${p.type} from a device with no session`);
    }
    assert.deepEqual(b.broker.published, []);

    await b.send(connect);
    assert.deepEqual(await b.got.next(), { type: 'CONNACK', returnCode: 0 });
    await b.send({ type: 'REGISTER', topicId: 0, msgId: 7, topicName: 'site/temp' });
    const regack = await b.got.next();
    assert.equal(regack.type === 'REGACK' && regack.returnCode, 0);
    await b.send({ ...publish(1, 8), topicId: regack.type === 'REGACK' ? regack.topicId : 0 } as Packet);
    assert.equal((await b.got.next()).type, 'PUBACK');
    assert.deepEqual(b.broker.on('site/temp'), ['21.5']);
    await b.gw.stop();
  });
});
