/**
 * The upstream connection of transparent mode (`mqttConnector` with `deferredAcks`, as
 * transparent.ts opens it) against a real mosquitto: a QoS 2 message's PUBREC goes only once the
 * receiver (the device's queue) is done with it, while the connection reads on. Within one
 * gateway, a connection that drops first does not hand the message on again when the broker
 * resends it; the PUBREC goes on the new connection. Another gateway (a fresh connector) is
 * handed it again. Once done, the broker's QoS 2 flow runs to PUBCOMP and the message does not
 * come again. mosquitto's debug log is the broker's own account of what it received.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { mqttConnector } from '../../src/bridge/mqtt-upstream.js';
import type { Message, UpstreamConnection, UpstreamConnector } from '../../src/bridge/upstream.js';
import { loggingBroker } from './broker-log.js';
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
  const broker = loggingBroker();
  const { closers } = broker;
  const url = (): string => broker.mosquitto.url;

  /** How many times mosquitto logged receiving `what` (PUBREC, PUBCOMP, PUBLISH...) from `clientId`. */
  const received = (what: string, clientId: string): number => broker.logged(`Received ${what} from ${clientId} (`);

  /** A device's connector as transparent mode makes it (one per device, for all its connections; clean session false here). */
  const connector = (clientId: string): UpstreamConnector =>
    mqttConnector({ url: url(), clientId, keepAlive: 60, cleanSession: false, connectTimeoutMs: 5000, deferredAcks: true });

  /** A connection of `connect`, once connected. */
  async function open(connect: UpstreamConnector): Promise<Opened> {
    const got: Got[] = [];
    let closedWith: Error | null | undefined;
    // Settled by the first of CONNACK and the end of the attempt (MQTT.js's connectTimeout bounds it).
    let settle!: (closed?: Error | null) => void;
    const up = new Promise<void>((resolve, reject) => (settle = (closed) => (closed === undefined ? resolve() : reject(new Error(`not connected: ${String(closed)}`)))));
    const conn = connect({
      connected: () => settle(),
      message: (msg, done) => got.push({ msg, done }),
      closed: (err) => settle((closedWith = err ?? null)),
    });
    closers.push(() => conn.end(false));
    await up;
    return { conn, got, closedWith: () => closedWith };
  }

  const payloads = (got: readonly Got[]): string[] => got.map((g) => g.msg.payload.toString());

  /** `done` of the message with this payload. */
  const doneOf = (got: readonly Got[], payload: string): (() => void) => {
    const g = got.find((x) => x.msg.payload.toString() === payload);
    assert.ok(g, `${payload} was handed on`);
    return g.done;
  };

  async function publisher(): Promise<mqtt.MqttClient> {
    const pub = await mqtt.connectAsync(url(), { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());
    return pub;
  }

  it('PUBREC waits for done without holding up the connection; across a dropped connection a message is handed on once and answered on the new one; nothing comes again', { timeout: 30_000 }, async () => {
    const pub = await publisher();
    const id = 'da-q2';
    const device = connector(id);

    const first = await open(device);
    assert.deepEqual(await first.conn.subscribe([{ filter: 'da/cmd/#', qos: 2 }]), [2]);
    for (const payload of ['done-after', 'done-between', 'answered']) await pub.publishAsync('da/cmd/lamp', payload, { qos: 2 });
    // All handed on at once, each while those before it are not done: the connection reads on.
    await until(() => first.got.length === 3, 5000, 'the messages handed on');
    assert.deepEqual(payloads(first.got), ['done-after', 'done-between', 'answered']);
    assert.deepEqual(
      first.got.map((g) => g.msg.qos),
      [2, 2, 2],
    );
    // The connection's own QoS 1 publish is acknowledged meanwhile (its PUBACK is read and matched).
    await new Promise<void>((resolve, reject) => first.conn.publish({ topic: 'da/up', payload: Buffer.from('up'), qos: 1, retain: false }, (err) => (err ? reject(err) : resolve())));
    assert.equal(received('PUBREC', id), 0, `mosquitto got a PUBREC before anything was done:\n${broker.mosquitto.log}`);

    doneOf(first.got, 'answered')();
    await until(() => received('PUBCOMP', id) === 1, 5000, 'the QoS 2 flow of the message done');
    assert.equal(received('PUBREC', id), 1, 'one PUBREC, for the message done');

    // The connection drops with two messages not done; one is done before the next connection stands.
    await first.conn.end(false);
    doneOf(first.got, 'done-between')();

    const second = await open(device);
    // Both come again from the broker (DUP); neither is handed on again: a marker after them comes alone.
    await pub.publishAsync('da/cmd/lamp', 'marker', { qos: 2 });
    await until(() => second.got.length > 0, 5000, 'the marker');
    assert.deepEqual(payloads(second.got), ['marker']);
    // The one done while no connection stood is answered at once; the other once done, on this connection.
    await until(() => received('PUBCOMP', id) === 2, 5000, 'the QoS 2 flow of the message done between the connections');
    doneOf(first.got, 'done-after')();
    doneOf(second.got, 'marker')();
    await until(() => received('PUBCOMP', id) === 4, 5000, 'the QoS 2 flows of the message done after and of the marker');
    assert.equal(received('PUBREC', id), 4);

    // The session's next connection (which takes the session over: mosquitto closes this one)
    // gets nothing of them again.
    const third = await open(device);
    await until(() => second.closedWith() !== undefined, 5000, 'the connection taken over closed');
    // MQTT.js was told of each deferred ack through its error path: none of that is why the connection ended.
    assert.equal(second.closedWith(), null);
    await pub.publishAsync('da/cmd/lamp', 'marker-2', { qos: 2 });
    await until(() => third.got.length > 0, 5000, 'the second marker');
    assert.deepEqual(payloads(third.got), ['marker-2']);
    third.got[0]!.done();
    await until(() => received('PUBCOMP', id) === 5, 5000, "the second marker's QoS 2 flow");
  });

  it('another gateway (the first one gone with the message not done) is handed the message again', { timeout: 30_000 }, async () => {
    const pub = await publisher();
    const id = 'da-q2-failover';
    const first = await open(connector(id));
    assert.deepEqual(await first.conn.subscribe([{ filter: 'da/fo/#', qos: 2 }]), [2]);
    await pub.publishAsync('da/fo/lamp', 'unreceived', { qos: 2 });
    await until(() => first.got.length === 1, 5000, 'the message');
    await first.conn.end(false);

    const other = await open(connector(id));
    await until(() => other.got.length === 1, 5000, 'the message again');
    assert.deepEqual(payloads(other.got), ['unreceived']);
    // The first gateway's late done answers nothing; the second's completes the flow.
    first.got[0]!.done();
    other.got[0]!.done();
    await until(() => received('PUBCOMP', id) === 1, 5000, 'the QoS 2 flow');
    assert.equal(received('PUBREC', id), 1);
  });

  it('a message published at QoS 2 to a QoS 1 subscription comes at QoS 1 and gets its PUBACK on done', { timeout: 30_000 }, async () => {
    const pub = await publisher();
    const id = 'da-q1';
    const c = await open(connector(id));
    assert.deepEqual(await c.conn.subscribe([{ filter: 'da/q1/#', qos: 1 }]), [1]);
    await pub.publishAsync('da/q1/lamp', 'down-graded', { qos: 2 });
    await until(() => c.got.length === 1, 5000, 'the message');
    assert.equal(c.got[0]!.msg.qos, 1);
    c.got[0]!.done();
    await until(() => received('PUBACK', id) === 1, 5000, 'its PUBACK');
    assert.equal(received('PUBREC', id), 0);
  });
});
