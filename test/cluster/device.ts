/**
 * A lean simulated MQTT-SN 1.2 device over real UDP, for the cluster test and bench: one socket
 * (its own source port, so the front end hashes each device on its own), one request in flight,
 * retransmission after T_retry up to N_retry times (MQTT-SN 1.2 §6.13), and the failover a real
 * device does: a DISCONNECT from the gateway, or a request that stays unanswered, sends it back to
 * CONNECT with clean session false; the broker keeps its session (subscriptions and queued
 * QoS 1 messages) in between.
 *
 * Every wait is bounded (retries, a deadline per connect loop) and every device stops at `stop()`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { decode, encode, type Packet } from '../../src/codec/index.js';
import type { Endpoint } from './nginx.js';

export interface DeviceOptions {
  keepAliveSec: number;
  retryMs: number;
  retries: number;
  /** a connect loop (CONNACK 0x01 and unanswered CONNECTs retried) gives up after this */
  connectDeadlineMs: number;
}

export const DEFAULT_DEVICE: DeviceOptions = { keepAliveSec: 20, retryMs: 2000, retries: 2, connectDeadlineMs: 120_000 };

/** The gateway told the device to CONNECT again (§4.1), or stopped answering. */
class Gone extends Error {}
class Stopped extends Error {}

interface Waiter {
  match: (p: Packet) => boolean;
  resolve: (p: Packet) => void;
  reject: (e: Error) => void;
}

export class Device {
  readonly id: string;
  readonly #front: Endpoint;
  readonly #o: DeviceOptions;
  #sock: Socket | undefined;
  #waiter: Waiter | undefined;
  #msgId = 0;
  #stopped = false;
  /** a DISCONNECT that came while nothing waited: the next request starts with a CONNECT */
  #told = false;
  /** topic id -> topic name, as the gateway registered them (§6.10) or SUBACK named them */
  readonly topics = new Map<number, string>();
  /** payloads received, with how often (more than once: a duplicate) */
  readonly received = new Map<string, number>();
  /** failovers: ms from the first unanswered or refused packet to the CONNACK that followed */
  readonly downtimes: number[] = [];
  connects = 0;
  disconnectsFromGateway = 0;
  lastError = '';

  constructor(id: string, front: Endpoint, options: DeviceOptions = DEFAULT_DEVICE) {
    this.id = id;
    this.#front = front;
    this.#o = options;
  }

  async open(): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (b) => this.#onDatagram(b));
    s.on('error', () => undefined); // ICMP port unreachable from a dead peer: the retry handles it
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    this.#sock = s;
  }

  close(): void {
    this.#stopped = true;
    this.#waiter?.reject(new Stopped('stopped'));
    this.#waiter = undefined;
    this.#sock?.close();
    this.#sock = undefined;
  }

  /** the device's source port (with 127.0.0.1, what the front end hashes), once open */
  get localPort(): number | undefined {
    return this.#sock?.address().port;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #send(p: Packet): void {
    this.#sock?.send(encode(p), this.#front.port, this.#front.host);
  }

  #onDatagram(b: Buffer): void {
    const p = decode(b);
    if (p instanceof Error) return;
    const w = this.#waiter;
    if (w !== undefined && w.match(p)) {
      this.#waiter = undefined;
      w.resolve(p);
      return;
    }
    switch (p.type) {
      case 'PUBLISH': {
        const key = p.payload.toString();
        this.received.set(key, (this.received.get(key) ?? 0) + 1);
        if (p.qos === 1) this.#send({ type: 'PUBACK', topicId: p.topicIdType === 'normal' || p.topicIdType === 'predefined' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
        return;
      }
      case 'REGISTER':
        this.topics.set(p.topicId, p.topicName);
        this.#send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
        return;
      case 'DISCONNECT':
        this.disconnectsFromGateway++;
        this.#told = true;
        if (w !== undefined) {
          this.#waiter = undefined;
          w.reject(new Gone('DISCONNECT from the gateway'));
        }
        return;
      default:
        return;
    }
  }

  #nextMsgId(): number {
    this.#msgId = (this.#msgId % 0xffff) + 1;
    return this.#msgId;
  }

  /** Sends `p` (again after T_retry, at most N_retry times) until an answer `match` takes. */
  async #exchange(p: Packet, match: (a: Packet) => boolean, again: Packet = p): Promise<Packet> {
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      if (this.#stopped) throw new Stopped('stopped');
      const answer = new Promise<Packet>((resolve, reject) => {
        this.#waiter = { match, resolve, reject };
      });
      this.#send(attempt === 0 ? p : again);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), this.#o.retryMs)));
      const got = await Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
      if (got !== undefined) return got;
      this.#waiter = undefined;
    }
    throw new Gone(`${p.type} unanswered after ${this.#o.retries + 1} tries`);
  }

  /** CONNECT with clean session false until CONNACK 0 (0x01 and silence are retried), bounded by connectDeadlineMs. */
  async connect(since?: number): Promise<void> {
    const end = Date.now() + this.#o.connectDeadlineMs;
    for (;;) {
      if (this.#stopped) throw new Stopped('stopped');
      try {
        this.#told = false;
        const a = await this.#exchange({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: this.#o.keepAliveSec, clientId: this.id }, (x) => x.type === 'CONNACK');
        if (a.type === 'CONNACK' && a.returnCode === 0) {
          this.connects++;
          if (since !== undefined) this.downtimes.push(Date.now() - since);
          return;
        }
        this.lastError = `CONNACK 0x${a.type === 'CONNACK' ? a.returnCode.toString(16) : '??'}`;
      } catch (e) {
        if (e instanceof Stopped) throw e;
        this.lastError = String(e);
      }
      if (Date.now() > end) throw new Error(`${this.id}: no CONNACK 0 within ${this.#o.connectDeadlineMs} ms (${this.lastError})`);
      await sleep(500 + Math.random() * 1000);
    }
  }

  /** REGISTER; 0x01 (congestion) is tried again after a pause, a bounded number of times. */
  async register(topic: string): Promise<number> {
    return this.#congested(async () => {
      const msgId = this.#nextMsgId();
      const a = await this.#exchange({ type: 'REGISTER', topicId: 0, msgId, topicName: topic }, (x) => x.type === 'REGACK' && x.msgId === msgId);
      return a.type === 'REGACK' ? { rc: a.returnCode, value: a.topicId } : { rc: -1, value: 0 };
    }, 'REGACK');
  }

  /** SUBSCRIBE at QoS 1; 0x01 (congestion) is tried again after a pause, a bounded number of times. */
  async subscribe(filter: string): Promise<void> {
    const topicId = await this.#congested(async () => {
      const msgId = this.#nextMsgId();
      const p: Packet = { type: 'SUBSCRIBE', dup: false, qos: 1, msgId, topicIdType: 'normal', topicName: filter };
      const a = await this.#exchange(p, (x) => x.type === 'SUBACK' && x.msgId === msgId, { ...p, dup: true });
      return a.type === 'SUBACK' ? { rc: a.returnCode, value: a.topicId } : { rc: -1, value: 0 };
    }, 'SUBACK');
    if (topicId !== 0) this.topics.set(topicId, filter);
  }

  /** MQTT-SN 1.2 §6.7: 0x01 says "try later"; up to 10 tries, 0.5-1.5 s apart. */
  async #congested(attempt: () => Promise<{ rc: number; value: number }>, what: string): Promise<number> {
    for (let i = 0; ; i++) {
      const { rc, value } = await attempt();
      if (rc === 0) return value;
      if (rc !== 1 || i >= 9) throw new Gone(`${what} 0x${rc.toString(16)}`);
      await sleep(500 + Math.random() * 1000);
    }
  }

  /** QoS 1 PUBLISH; resolves with the PUBACK's return code. */
  async publish(topicId: number, payload: string): Promise<number> {
    const msgId = this.#nextMsgId();
    const p: Packet = { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId, topicIdType: 'normal', topicId, payload: Buffer.from(payload) };
    const a = await this.#exchange(p, (x) => x.type === 'PUBACK' && x.msgId === msgId, { ...p, dup: true });
    return a.type === 'PUBACK' ? a.returnCode : -1;
  }

  async ping(clientId?: string): Promise<void> {
    await this.#exchange(clientId === undefined ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId }, (x) => x.type === 'PINGRESP');
  }

  /** DISCONNECT with a sleep duration (§6.14): the gateway buffers what arrives until the wake-up. */
  async sleep(durationSec: number): Promise<void> {
    await this.#exchange({ type: 'DISCONNECT', duration: durationSec }, (x) => x.type === 'DISCONNECT');
    this.#told = false;
  }

  /**
   * Runs `step` until stop; a Gone (DISCONNECT, silence) means failover: CONNECT again with clean
   * session false, `after` (re-REGISTER), then the same step again. `pauseMs` between steps.
   */
  async run(step: () => Promise<void>, after: () => Promise<void>, pauseMs: () => number): Promise<void> {
    while (!this.#stopped) {
      await sleep(pauseMs());
      const started = Date.now();
      try {
        if (this.#told) throw new Gone('DISCONNECT from the gateway');
        await step();
      } catch (e) {
        if (e instanceof Stopped || this.#stopped) return;
        if (!(e instanceof Gone)) throw e;
        try {
          await this.connect(started);
          await after();
        } catch (e2) {
          if (e2 instanceof Stopped || this.#stopped) return;
          if (!(e2 instanceof Gone)) throw e2;
        }
      }
    }
  }

  /**
   * `step` once, through failovers: a Gone (DISCONNECT, silence) sends the device to CONNECT again
   * first. At most `tries` times; for the setup steps (SUBSCRIBE, REGISTER, going to sleep).
   */
  async settled<T>(step: () => Promise<T>, tries = 5): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        if (this.#told) throw new Gone('DISCONNECT from the gateway');
        return await step();
      } catch (e) {
        if (!(e instanceof Gone) || i >= tries - 1) throw e;
        await this.connect(Date.now());
      }
    }
  }

  /** Wakes a sleeper (§6.14): PINGREQ with its client id; buffered messages come before PINGRESP. */
  async wake(): Promise<'here' | 'moved'> {
    try {
      await this.ping(this.id);
      return 'here';
    } catch (e) {
      if (!(e instanceof Gone)) throw e;
      await this.connect(Date.now());
      return 'moved';
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
