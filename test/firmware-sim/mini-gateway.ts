/**
 * A small MQTT-SN gateway for the simulator's tests, on the project's codec over UDP: sessions
 * keyed by peer, the will dance, REGISTER, PUBLISH at every QoS routed to subscribers (REGISTER
 * before PUBLISH for wildcard matches), sleep buffers flushed at wake-up, GWINFO. No broker, no
 * store, no retries beyond one: enough for end-to-end behaviour of nodes, and swappable for the
 * real gateway in contract tests.
 */
import { systemClock } from '../../src/clock.js';
import { encode, type Packet, type PublishTopic, type QoS, type SubQoS } from '../../src/codec/index.js';
import { Waitress } from '../../src/waitress.js';
import { ScriptedGateway, type Received } from './scripted-gateway.js';

interface Addr {
  address: string;
  port: number;
}

interface Sub {
  qos: SubQoS;
  kind: 'name' | 'short' | 'predefined';
}

interface Delivery {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

interface Session {
  clientId: string;
  peer: Addr;
  state: 'connecting' | 'active' | 'asleep' | 'awake' | 'disconnected';
  nameToId: Map<string, number>;
  idToName: Map<number, string>;
  nextTopicId: number;
  nextMsgId: number;
  subs: Map<string, Sub>;
  buffer: Delivery[];
  qos2In: Set<number>;
  chain: Promise<void>;
  will: boolean;
}

export interface MiniGatewayOptions {
  host?: string;
  gwId?: number;
  predefined?: Record<number, string>;
  /** how long the gateway waits for a client's ack before one retransmission */
  retryMs?: number;
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export class MiniGateway {
  readonly gw: ScriptedGateway;
  readonly gwId: number;
  readonly predefined: Map<number, string>;
  readonly retryMs: number;
  readonly sessions = new Map<string, Session>();
  readonly byPeer = new Map<string, Session>();
  /** publishes accepted from clients, by QoS */
  readonly accepted = { '-1': 0, '0': 0, '1': 0, '2': 0 };
  delivered = 0;
  /** deliveries and REGISTERs waiting for the client's ack, one retransmission each */
  #waitress: Waitress<Packet, Received, { session: Session; answer: string }>;

  private constructor(gw: ScriptedGateway, o: MiniGatewayOptions) {
    this.gw = gw;
    this.gwId = o.gwId ?? 1;
    this.predefined = new Map(Object.entries(o.predefined ?? {}).map(([k, v]) => [Number(k), v]));
    this.retryMs = o.retryMs ?? 500;
    this.#waitress = new Waitress({
      clock: systemClock,
      retryMs: this.retryMs,
      maxRetries: 1,
      // Read at each send: a client that reconnected from a new port gets the retransmission there.
      send: (p, r) => this.#send(r.tag.session.peer, p),
      timeoutError: (r) => new Error(`no ${r.tag.answer}`),
    });
    gw.auto = (r) => {
      this.#handle(r);
      return true;
    };
  }

  static async start(o: MiniGatewayOptions = {}): Promise<MiniGateway> {
    return new MiniGateway(await ScriptedGateway.start(o.host), o);
  }

  get url(): string {
    return this.gw.url;
  }

  close(): Promise<void> {
    return this.gw.close();
  }

  #send(to: Addr, p: Packet): void {
    this.gw.sendRaw(to, encode(p)).catch(() => {});
  }

  #handle(r: Received): void {
    const p = r.packet;
    const s = this.byPeer.get(r.peer);
    switch (p.type) {
      case 'SEARCHGW':
        this.#send(r.from, { type: 'GWINFO', gwId: this.gwId });
        return;
      case 'CONNECT': {
        let session = this.sessions.get(p.clientId);
        const wasSleeping = session?.state === 'asleep' || session?.state === 'awake';
        if (!session || (p.cleanSession && !wasSleeping)) {
          session = {
            clientId: p.clientId, peer: r.from, state: 'connecting', nameToId: new Map(), idToName: new Map(), nextTopicId: 1, nextMsgId: 1,
            subs: new Map(), buffer: [], qos2In: new Set(), chain: Promise.resolve(), will: false,
          };
          this.sessions.set(p.clientId, session);
        }
        for (const [k, v] of this.byPeer) if (v === session) this.byPeer.delete(k);
        session.peer = r.from;
        this.byPeer.set(r.peer, session);
        if (p.will && !wasSleeping) {
          session.state = 'connecting';
          this.#send(r.from, { type: 'WILLTOPICREQ' });
          return;
        }
        this.#connected(session);
        return;
      }
      case 'WILLTOPIC':
        if (!s) return;
        if (p.willTopic === null) this.#connected(s);
        else this.#send(r.from, { type: 'WILLMSGREQ' });
        return;
      case 'WILLMSG':
        if (s) this.#connected(s);
        return;
      case 'PUBLISH':
        this.#publish(r, s);
        return;
      case 'PUBREL':
        s?.qos2In.delete(p.msgId);
        this.#send(r.from, { type: 'PUBCOMP', msgId: p.msgId });
        return;
      case 'PUBACK':
      case 'PUBREC':
      case 'PUBCOMP':
      case 'REGACK':
        this.#waitress.offer(r);
        return;
      default:
        break;
    }
    if (!s) {
      // §4.1: a message from a client the gateway does not know gets DISCONNECT.
      if (p.type === 'PINGREQ' && p.clientId !== undefined) {
        const byId = this.sessions.get(p.clientId);
        if (byId && byId.state === 'asleep') {
          byId.peer = r.from;
          this.byPeer.set(r.peer, byId);
          this.#wake(byId);
          return;
        }
      }
      this.#send(r.from, { type: 'DISCONNECT' });
      return;
    }
    switch (p.type) {
      case 'REGISTER': {
        const id = this.#idFor(s, p.topicName);
        this.#send(r.from, { type: 'REGACK', topicId: id, msgId: p.msgId, returnCode: 0 });
        return;
      }
      case 'SUBSCRIBE': {
        const granted = p.qos === -1 ? 0 : p.qos; // QoS -1 means nothing in SUBSCRIBE
        let topicId = 0;
        let key: string;
        let kind: Sub['kind'] = 'name';
        if (p.topicIdType === 'normal') {
          key = p.topicName;
          if (!p.topicName.includes('+') && !p.topicName.includes('#')) topicId = this.#idFor(s, p.topicName);
        } else if (p.topicIdType === 'short') {
          key = p.topicName;
          kind = 'short';
        } else {
          const name = this.predefined.get(p.topicId);
          if (name === undefined) {
            this.#send(r.from, { type: 'SUBACK', qos: granted, topicId: p.topicId, msgId: p.msgId, returnCode: 2 });
            return;
          }
          key = name;
          kind = 'predefined';
          topicId = p.topicId;
        }
        s.subs.set(key, { qos: granted, kind });
        this.#send(r.from, { type: 'SUBACK', qos: granted, topicId, msgId: p.msgId, returnCode: 0 });
        return;
      }
      case 'UNSUBSCRIBE':
        s.subs.delete(p.topicIdType === 'predefined' ? (this.predefined.get(p.topicId) ?? '') : p.topicName);
        this.#send(r.from, { type: 'UNSUBACK', msgId: p.msgId });
        return;
      case 'PINGREQ':
        if (p.clientId !== undefined && s.state === 'asleep') this.#wake(s);
        else this.#send(r.from, { type: 'PINGRESP' });
        return;
      case 'DISCONNECT':
        s.state = p.duration ? 'asleep' : 'disconnected';
        this.#send(r.from, { type: 'DISCONNECT' });
        return;
      case 'WILLTOPICUPD':
        this.#send(r.from, { type: 'WILLTOPICRESP', returnCode: 0 });
        return;
      case 'WILLMSGUPD':
        this.#send(r.from, { type: 'WILLMSGRESP', returnCode: 0 });
        return;
      default:
        return;
    }
  }

  #connected(s: Session): void {
    const wasSleeping = s.state === 'asleep' || s.state === 'awake';
    s.state = 'active';
    this.#send(s.peer, { type: 'CONNACK', returnCode: 0 });
    if (wasSleeping) this.#flush(s, false);
  }

  #wake(s: Session): void {
    s.state = 'awake';
    this.#flush(s, true);
  }

  /** Sends the buffer in order; PINGRESP ends a wake (§4.12). */
  #flush(s: Session, pingresp: boolean): void {
    const items = s.buffer.splice(0);
    for (const d of items) this.#enqueue(s, d);
    s.chain = s.chain.then(() => {
      if (!pingresp) return;
      this.#send(s.peer, { type: 'PINGRESP' });
      if (s.state === 'awake') s.state = 'asleep';
    });
  }

  #idFor(s: Session, name: string): number {
    let id = s.nameToId.get(name);
    if (id === undefined) {
      id = s.nextTopicId++;
      s.nameToId.set(name, id);
      s.idToName.set(id, name);
    }
    return id;
  }

  #publish(r: Received, s: Session | undefined): void {
    const p = r.packet;
    if (p.type !== 'PUBLISH') return;
    let topic: string | undefined;
    const ack = (rc: number): void => this.#send(r.from, { type: 'PUBACK', topicId: p.topicIdType === 'normal' || p.topicIdType === 'predefined' ? p.topicId : 0, msgId: p.msgId, returnCode: rc });
    switch (p.topicIdType) {
      case 'normal':
        topic = s?.idToName.get(p.topicId);
        break;
      case 'predefined':
        topic = this.predefined.get(p.topicId);
        break;
      case 'short':
      case 'inline':
        topic = p.topicName;
        break;
    }
    if (p.qos === -1) {
      if (topic !== undefined && p.topicIdType !== 'normal' && p.topicIdType !== 'inline') {
        this.accepted['-1']++;
        this.#route(topic, p.payload, 0, p.retain);
      }
      return;
    }
    if (!s || s.state !== 'active') {
      this.#send(r.from, { type: 'DISCONNECT' });
      return;
    }
    if (topic === undefined) {
      ack(2);
      return;
    }
    if (p.qos === 2) {
      const first = !s.qos2In.has(p.msgId);
      s.qos2In.add(p.msgId);
      this.#send(r.from, { type: 'PUBREC', msgId: p.msgId });
      if (!first) return;
    } else if (p.qos === 1) {
      ack(0);
    }
    this.accepted[String(p.qos) as '0' | '1' | '2']++;
    this.#route(topic, p.payload, p.qos, p.retain);
  }

  #route(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    for (const s of this.sessions.values()) {
      let best: Sub | undefined;
      for (const [filter, sub] of s.subs) if (topicMatches(filter, topic) && (!best || sub.qos > best.qos)) best = sub;
      if (!best) continue;
      const d: Delivery = { topic, payload: Buffer.from(payload), qos: Math.min(qos, best.qos) as 0 | 1 | 2, retain };
      if (s.state === 'asleep') s.buffer.push(d);
      else if (s.state === 'active' || s.state === 'awake') this.#enqueue(s, d);
    }
  }

  /** One delivery at a time per client (§4.7), REGISTER first when the client lacks the id (§4.6). */
  #enqueue(s: Session, d: Delivery): void {
    s.chain = s.chain.then(() => this.#deliver(s, d)).catch(() => {});
  }

  async #deliver(s: Session, d: Delivery): Promise<void> {
    let topic: PublishTopic;
    const sub = [...s.subs.entries()].find(([f]) => topicMatches(f, d.topic))?.[1];
    const pre = [...this.predefined.entries()].find(([, n]) => n === d.topic)?.[0];
    if (sub?.kind === 'short' && Buffer.byteLength(d.topic) === 2) topic = { topicIdType: 'short', topicName: d.topic };
    else if (sub?.kind === 'predefined' && pre !== undefined) topic = { topicIdType: 'predefined', topicId: pre };
    else {
      let id = s.nameToId.get(d.topic);
      if (id === undefined) {
        id = this.#idFor(s, d.topic);
        const msgId = this.#msgId(s);
        await this.#request(s, { type: 'REGISTER', topicId: id, msgId, topicName: d.topic }, 'REGACK', msgId);
      }
      topic = { topicIdType: 'normal', topicId: id };
    }
    const qos: QoS = d.qos;
    const msgId = qos === 0 ? 0 : this.#msgId(s);
    const pub = { type: 'PUBLISH', dup: false, qos, retain: d.retain, msgId, payload: d.payload, ...topic } as Packet;
    if (qos === 0) this.#send(s.peer, pub);
    else if (qos === 1) await this.#request(s, pub, 'PUBACK', msgId);
    else {
      await this.#request(s, pub, 'PUBREC', msgId);
      await this.#request(s, { type: 'PUBREL', msgId }, 'PUBCOMP', msgId);
    }
    this.delivered++;
  }

  #msgId(s: Session): number {
    const id = s.nextMsgId;
    s.nextMsgId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  /** Sends and waits for the answer; one retransmission (DUP=1 for PUBLISH) after `retryMs`. */
  #request(s: Session, p: Packet, answer: Packet['type'], msgId: number): Promise<Received> {
    const peerKey = `${s.peer.address}:${s.peer.port}`;
    return this.#waitress.wait({
      tag: { session: s, answer },
      frame: p,
      retransmit: () => (p.type === 'PUBLISH' ? { ...p, dup: true } : p),
      match: (r) => r.peer === peerKey && r.packet.type === answer && 'msgId' in r.packet && r.packet.msgId === msgId,
    });
  }
}
