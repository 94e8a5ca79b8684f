/**
 * The upstream connection of transparent mode (`mqttConnector` with `deferredAcks`, as
 * transparent.ts opens it) against a real mosquitto: a QoS 2 message's PUBREC goes only once the
 * receiver (the device's queue) is done with it, while the connection reads on; a connection that
 * drops first gets the message again on the session's next one; once done, the broker's QoS 2
 * flow runs to PUBCOMP and the message does not come again. mosquitto's debug log is the broker's
 * own account of what it received.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { mqttConnector } from '../../src/bridge/mqtt-upstream.js';
import type { Message, UpstreamConnection } from '../../src/bridge/upstream.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { until } from '../helpers/wait.js';

interface Got {
  msg: Message;
  done: () => void;
}

interface Opened {
  conn: UpstreamConnection;
  got: Got[];
  /** undefined while open; then what `closed` reported (null: no error) */
  closedWith: () => Error | null | undefined;
}

describe('bridge: deferred acks of QoS 2 toward a device, with mosquitto', () => {
  let upstream: Mosquitto;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    upstream = await Mosquitto.start({ extraConfig: ['log_type debug'] });
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await upstream.close();
  });

  /** How many times mosquitto logged receiving `what` (PUBREC, PUBCOMP, PUBLISH...) from `clientId`. */
  const received = (what: string, clientId: string): number => upstream.log.split(`Received ${what} from ${clientId} (`).length - 1;

  /** The device's upstream connection as transparent mode opens it (clean session false here), once connected. */
  async function open(clientId: string): Promise<Opened> {
    const got: Got[] = [];
    let closedWith: Error | null | undefined;
    let connected!: () => void;
    const up = new Promise<void>((resolve) => (connected = resolve));
    const conn = mqttConnector({ url: upstream.url, clientId, keepAlive: 60, cleanSession: false, connectTimeoutMs: 5000, deferredAcks: true })({
      connected: () => connected(),
      message: (msg, done) => got.push({ msg, done }),
      closed: (err) => (closedWith = err ?? null),
    });
    closers.push(() => conn.end(false));
    await Promise.race([up, until(() => closedWith !== undefined, 5000, 'CONNACK').then(() => assert.fail(`not connected: ${String(closedWith)}`))]);
    return { conn, got, closedWith: () => closedWith };
  }

  const payloads = (got: readonly Got[]): string[] => got.map((g) => g.msg.payload.toString());

  it('PUBREC waits for done without holding up the connection; dropped before, the message comes again; done, the flow completes and nothing comes again', { timeout: 30_000 }, async () => {
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());
    const id = 'da-q2';

    const first = await open(id);
    assert.deepEqual(await first.conn.subscribe([{ filter: 'da/cmd/#', qos: 2 }]), [2]);
    await pub.publishAsync('da/cmd/lamp', 'held', { qos: 2 });
    await pub.publishAsync('da/cmd/lamp', 'answered', { qos: 2 });
    // Both are handed on at once, the second while the first is not done: the connection reads on.
    await until(() => first.got.length === 2, 5000, 'both messages handed on');
    assert.deepEqual(payloads(first.got), ['held', 'answered']);
    assert.deepEqual(
      first.got.map((g) => g.msg.qos),
      [2, 2],
    );
    // The connection's own QoS 1 publish is acknowledged meanwhile (its PUBACK is read and matched).
    await new Promise<void>((resolve, reject) => first.conn.publish({ topic: 'da/up', payload: Buffer.from('up'), qos: 1, retain: false }, (err) => (err ? reject(err) : resolve())));
    assert.equal(received('PUBREC', id), 0, `mosquitto got a PUBREC before anything was done:\n${upstream.log}`);

    first.got[1]!.done();
    await until(() => received('PUBCOMP', id) === 1, 5000, 'the QoS 2 flow of the message done');
    assert.equal(received('PUBREC', id), 1, 'one PUBREC, for the message done');

    // The connection drops with "held" not done; its late `done` finds the connection gone.
    await first.conn.end(false);
    first.got[0]!.done();

    const second = await open(id);
    await until(() => second.got.length === 1, 5000, 'the message not done, again on the next connection');
    assert.deepEqual(payloads(second.got), ['held']);
    second.got[0]!.done();
    await until(() => received('PUBCOMP', id) === 2, 5000, 'the QoS 2 flow of the message sent again');
    assert.equal(received('PUBREC', id), 2);
    // A marker after them: had either come again, it would be ahead of it.
    await pub.publishAsync('da/cmd/lamp', 'marker', { qos: 2 });
    await until(() => second.got.length === 2, 5000, 'the marker');
    assert.deepEqual(payloads(second.got), ['held', 'marker']);
    second.got[1]!.done();
    await until(() => received('PUBCOMP', id) === 3, 5000, "the marker's QoS 2 flow");

    // The session's next connection (which takes the session over: mosquitto closes this one)
    // gets nothing of them again.
    const third = await open(id);
    await until(() => second.closedWith() !== undefined, 5000, 'the connection taken over closed');
    // MQTT.js was told of each deferred ack through its error path: none of that is why the connection ended.
    assert.equal(second.closedWith(), null);
    await pub.publishAsync('da/cmd/lamp', 'marker-2', { qos: 2 });
    await until(() => third.got.length === 1, 5000, 'the second marker');
    assert.deepEqual(payloads(third.got), ['marker-2']);
    third.got[0]!.done();
  });

  it('a message published at QoS 2 to a QoS 1 subscription comes at QoS 1 and gets its PUBACK on done', { timeout: 30_000 }, async () => {
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());
    const id = 'da-q1';
    const c = await open(id);
    assert.deepEqual(await c.conn.subscribe([{ filter: 'da/q1/#', qos: 1 }]), [1]);
    await pub.publishAsync('da/q1/lamp', 'down-graded', { qos: 2 });
    await until(() => c.got.length === 1, 5000, 'the message');
    assert.equal(c.got[0]!.msg.qos, 1);
    c.got[0]!.done();
    await until(() => received('PUBACK', id) === 1, 5000, 'its PUBACK');
    assert.equal(received('PUBREC', id), 0);
  });
});
