/**
 * `UpstreamConnection` on MQTT.js 5, MQTT 3.1.1. Each connection is its own `MqttClient` with
 * MQTT.js's reconnect turned off (`reconnectPeriod: 0`): the bridge decides when to try again and
 * keeps what is unacknowledged in its own queue, so no second copy of that state lives in MQTT.js
 * across connections.
 */
import type { Socket } from 'node:net';
import mqtt, { DefaultMessageIdProvider, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { DEFAULT_MAX_PACKET_BYTES, PacketSizeGuard } from '../broker/packet-size.js';
import { BridgeError, BridgeErrorCode } from './errors.js';
import { IncomingQos2 } from './incoming-qos2.js';
import type { UpstreamConnection, UpstreamConnector, UpstreamHandlers, Message } from './upstream.js';

export interface MqttUpstreamOptions {
  url: string;
  clientId: string;
  username?: string;
  /** bytes as a 2.0 device gave them (MQTT-BASIC), or text from the config */
  password?: string | Buffer;
  /**
   * Called for each connection attempt; its result is the password of that attempt (instead of
   * `password`). For credentials that expire, such as an Azure IoT Hub SAS token.
   */
  passwordProvider?: () => string;
  /** seconds; 0 off */
  keepAlive: number;
  cleanSession: boolean;
  connectTimeoutMs: number;
  /** largest packet the broker may send (checked on its header, before MQTT.js buffers the body); default 1 MiB */
  maxPacketBytes?: number;
  /**
   * A QoS 1 message's PUBACK, a QoS 2 message's PUBREC, goes when the receiver calls its `done`,
   * however late, while later packets are read on (transparent mode: once the device has
   * acknowledged it). Without it, MQTT.js answers in order and reads nothing else until `done`,
   * and takes QoS 2 over itself (PUBREC on receipt, the message handed on at PUBREL): the
   * aggregating bridge's broker core answers at once.
   */
  deferredAcks?: boolean;
  /**
   * With `deferredAcks`: the QoS 2 ids of the client's session, when they are kept beyond this
   * connector (transparent mode keeps them across the device's links); a table of its own otherwise.
   */
  incomingQos2?: IncomingQos2;
  /** the will the broker publishes when this connection vanishes without DISCONNECT */
  will?: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean };
  /** file contents, already read */
  tls?: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    passphrase?: string;
    rejectUnauthorized: boolean;
    servername?: string;
  };
}

/** What MQTT.js's customHandleAcks callback is given to leave the PUBACK / PUBREC to us (see `#take`). */
const ACK_DEFERRED = new Error('ack deferred until the receiver is done');

/** The first bytes of the acks written by hand (MQTT 3.1.1 §3.4, §3.5): type in the high nibble, no flags. */
const PUBACK = 0x40;
const PUBREC = 0x50;

/** How long a graceful end waits for the socket to close before it is destroyed. */
const END_TIMEOUT_MS = 2000;

export function mqttConnector(o: MqttUpstreamOptions): UpstreamConnector {
  /*
   * One packet-id sequence for all connections. A broker that kept the session (cleanSession
   * false) may still hold QoS 2 state under the ids of the last connection, and would take a new
   * message under such an id for a duplicate; continuing the sequence keeps new messages away
   * from those ids.
   */
  const ids = new DefaultMessageIdProvider();
  // Deferred acks: QoS 2 messages not yet released, known across connections for the same reason.
  const qos2 = o.deferredAcks === true ? (o.incomingQos2 ?? new IncomingQos2()) : undefined;
  return (handlers) => new MqttUpstream(o, ids, qos2, handlers);
}

class MqttUpstream implements UpstreamConnection {
  readonly #client: MqttClient;
  readonly #handlers: UpstreamHandlers;
  #ended = false;
  #reported = false;
  #established = false;
  #lastError: Error | undefined;
  #corked = false;
  /**
   * This connection while it stands, for the acks owed on it: emptied at its end, so that an ack
   * still owed (a message the gateway holds, an id IncomingQos2 keeps) keeps nothing of it alive.
   */
  readonly #self: { ack: ((header: number, msgId: number) => boolean) | undefined } = { ack: (header, msgId) => this.#ack(header, msgId) };

  constructor(o: MqttUpstreamOptions, ids: DefaultMessageIdProvider, qos2: IncomingQos2 | undefined, handlers: UpstreamHandlers) {
    this.#handlers = handlers;
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: o.clientId,
      username: o.username,
      password: o.passwordProvider?.() ?? o.password,
      keepalive: o.keepAlive,
      clean: o.cleanSession,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      messageIdProvider: ids,
      will: o.will,
      // MQTT.js otherwise calls its `debug` logger on every packet, enabled or not.
      log: () => {},
    };
    if (o.tls !== undefined) {
      Object.assign(options, {
        ca: o.tls.ca,
        cert: o.tls.cert,
        key: o.tls.key,
        rejectUnauthorized: o.tls.rejectUnauthorized,
        servername: o.tls.servername,
        // Not in IClientOptions' typings, but MQTT.js hands its options to tls.connect, which reads it.
        passphrase: o.tls.passphrase,
      });
    }
    const client = mqtt.connect(o.url, options);
    this.#client = client;
    // MQTT.js made the stream in connect() and pipes it into its parser, which keeps a packet's
    // bytes until it is whole: this listener sees each chunk too, and stops a packet the broker
    // announces beyond the cap before its body comes in.
    const sizes = new PacketSizeGuard(o.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES);
    client.stream.on('data', (chunk: Buffer) => {
      const size = sizes.feed(chunk);
      if (size === undefined || this.#ended) return;
      this.#lastError = new BridgeError(
        BridgeErrorCode.PACKET_TOO_LARGE,
        `the upstream broker sent a packet of ${size} bytes, over upstream.maxPacketBytes (${sizes.max}); connection closed`,
      );
      client.stream.destroy();
    });
    // Every incoming PUBLISH MQTT.js acknowledges itself passes here, one at a time: all of them
    // without deferred acks (QoS 2 at its PUBREL), QoS 0 only with them.
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      if (this.#ended) {
        callback();
        return;
      }
      if (o.deferredAcks !== true) {
        handlers.message(toMessage(packet), () => callback());
        return;
      }
      handlers.message(toMessage(packet), () => undefined);
      callback();
    };
    if (qos2 !== undefined) {
      // MQTT.js (5.16, handlers/publish.js) asks this about each QoS 1 and 2 PUBLISH before it
      // acknowledges or stores anything. Its constructor keeps the option for MQTT 5 only, but the
      // handler reads it from `client.options` at each packet, so it is set here, after.
      client.options.customHandleAcks = (_topic, _payload, packet: IPublishPacket, ack) => {
        this.#take(packet, qos2);
        // An error: MQTT.js sends no PUBACK / PUBREC, stores nothing, reads on, and emits the
        // error (the 'error' listener passes this one over). The ack is ours to send, later.
        ack(ACK_DEFERRED);
      };
      // MQTT.js answers PUBREL with PUBCOMP itself (its incoming store holds nothing of ours).
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'pubrel' && packet.messageId !== undefined) qos2.released(packet.messageId);
      });
    }
    client.on('connect', (connack) => {
      if (this.#ended) return;
      if (!connack.sessionPresent) qos2?.forgetAll();
      this.#established = true;
      // Acks wait on each other; Nagle would hold small packets back.
      (client.stream as Partial<Socket>).setNoDelay?.(true);
      handlers.connected({ sessionPresent: connack.sessionPresent });
    });
    client.on('error', (err) => {
      if (err === ACK_DEFERRED) return;
      this.#lastError = err;
    });
    client.on('close', () => this.#onClose());
  }

  get writeBacklog(): number {
    return (this.#client.stream as Partial<Socket> | undefined)?.writableLength ?? 0;
  }

  publish(msg: Message, done?: (err?: Error) => void): void {
    this.#cork();
    const opts = { qos: msg.qos, retain: msg.retain };
    if (done === undefined || msg.qos === 0) this.#client.publish(msg.topic, msg.payload, opts);
    // MQTT.js reports success as `null`, not `undefined`.
    else this.#client.publish(msg.topic, msg.payload, opts, (err) => done(err ?? undefined));
  }

  async subscribe(subs: ReadonlyArray<{ filter: string; qos: 0 | 1 | 2 }>): Promise<number[]> {
    const grants = await this.#client.subscribeAsync(Object.fromEntries(subs.map((s) => [s.filter, { qos: s.qos }])));
    return subs.map((s) => grants.find((g) => g.topic === s.filter)?.qos ?? 128);
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    await this.#client.unsubscribeAsync([...filters]);
  }

  /**
   * Holds writes until the event loop turns, so every PUBLISH of this turn (one per UDP datagram
   * the gateway took in) leaves in one writev. mqtt-packet corks each packet only until the next
   * tick, and each datagram is its own tick: a syscall per message, the largest cost of the
   * bridge before this.
   */
  #cork(): void {
    if (this.#corked) return;
    const stream = this.#client.stream as Partial<Socket> | undefined;
    if (stream?.cork === undefined) return;
    this.#corked = true;
    stream.cork();
    setImmediate(() => {
      this.#corked = false;
      stream.uncork?.();
    });
  }

  /**
   * A QoS 1 or 2 PUBLISH, in deferred-ack mode: handed to the receiver, its ack left until the
   * receiver's `done`. QoS 2 is acknowledged with PUBREC only then (MQTT 3.1.1 §4.3.3: the
   * receiver owns the message from its PUBREC), so a gateway that dies before the device has it
   * leaves it the broker's, to be sent again on the session's next connection (§4.4). Within one
   * gateway a QoS 2 message comes to the device once, whatever the connections in between (see
   * IncomingQos2). QoS 1 may come twice (§4.3.2): one the device holds when the connection drops
   * is sent again by the broker and handed on again.
   */
  #take(packet: IPublishPacket, qos2: IncomingQos2): void {
    // A message that comes once the bridge let go of the connection is not taken, nor acknowledged:
    // the broker keeps it for the session's next connection.
    if (this.#ended || packet.messageId === undefined) return;
    const msgId = packet.messageId;
    const self = this.#self;
    if (packet.qos === 2) {
      const done = qos2.take(msgId, () => self.ack?.(PUBREC, msgId) ?? false);
      if (done !== undefined) this.#handlers.message(toMessage(packet), done);
      return;
    }
    let acked = false;
    this.#handlers.message(toMessage(packet), () => {
      if (acked) return;
      acked = true;
      self.ack?.(PUBACK, msgId);
    });
  }

  /**
   * A deferred PUBACK or PUBREC (MQTT 3.1.1 §3.4, §3.5), written whole on the connection the
   * PUBLISH came on (MQTT.js's only stream: it never reconnects here). That connection gone,
   * nothing is sent: the broker sends the message again, with DUP, on the next connection of the
   * session (§4.4), whose own ack then counts. Returns whether it was written.
   */
  #ack(header: number, msgId: number): boolean {
    const stream = this.#client.stream;
    if (this.#ended || stream.destroyed || !stream.writable) return false;
    stream.write(Buffer.from([header, 0x02, msgId >> 8, msgId & 0xff]));
    return true;
  }

  end(graceful: boolean): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    this.#self.ack = undefined;
    const client = this.#client;
    // DISCONNECT only makes sense on a live connection with nothing outstanding; MQTT.js would
    // otherwise wait for acks that may never come.
    const force = !graceful || !client.connected || Object.keys(client.outgoing).length > 0;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.stream?.destroy();
        resolve();
      }, END_TIMEOUT_MS);
      timer.unref();
      client.end(force, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #onClose(): void {
    if (this.#ended || this.#reported) return;
    this.#reported = true;
    this.#handlers.closed(this.#lastError, this.#established);
    // Releases MQTT.js's timers and stores; callbacks it still holds fail, and the bridge ignores them.
    this.#ended = true;
    this.#self.ack = undefined;
    this.#client.end(true);
  }
}

function toMessage(packet: IPublishPacket): Message {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return { topic: packet.topic, payload, qos: packet.qos, retain: packet.retain };
}
