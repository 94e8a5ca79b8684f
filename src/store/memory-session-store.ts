/**
 * The session store in memory: for tests, and for users who accept losing sessions on restart
 * (`store.type: "memory"`). It keeps what it is given so that `load()` of the same instance
 * returns it, which is how the conformance suite checks both implementations alike.
 */
import type { PersistedDelivery, PersistedSession, RetainedMessage, SessionStore, StoredState } from './session-store.js';

export class MemorySessionStore implements SessionStore {
  #sessions = new Map<string, PersistedSession>();
  #queues = new Map<string, Map<number, PersistedDelivery>>();
  #qos2 = new Map<string, Set<number>>();
  #retained = new Map<string, RetainedMessage>();
  #seq = 0;

  load(): Promise<StoredState> {
    const queues = new Map<string, PersistedDelivery[]>();
    for (const [id, q] of this.#queues) if (q.size > 0) queues.set(id, [...q.values()].map((d) => ({ ...d })));
    const qos2 = new Map<string, number[]>();
    for (const [id, s] of this.#qos2) if (s.size > 0) qos2.set(id, [...s]);
    return Promise.resolve({
      sessions: [...this.#sessions.values()].map(copySession),
      queues,
      qos2,
      retained: [...this.#retained.values()],
    });
  }

  saveSession(s: PersistedSession): void {
    this.#sessions.set(s.clientId, copySession(s));
  }

  deleteSession(clientId: string): void {
    this.#sessions.delete(clientId);
    this.#queues.delete(clientId);
    this.#qos2.delete(clientId);
  }

  enqueue(clientId: string, d: Omit<PersistedDelivery, 'seq' | 'sent'>): number {
    const seq = ++this.#seq;
    let q = this.#queues.get(clientId);
    if (q === undefined) this.#queues.set(clientId, (q = new Map<number, PersistedDelivery>()));
    q.set(seq, { seq, topic: d.topic, payload: d.payload, qos: d.qos, retain: d.retain });
    return seq;
  }

  markSent(clientId: string, seq: number, sent: NonNullable<PersistedDelivery['sent']>): void {
    const d = this.#queues.get(clientId)?.get(seq);
    if (d !== undefined) d.sent = { ...sent };
  }

  dequeue(clientId: string, seq: number): void {
    this.#queues.get(clientId)?.delete(seq);
  }

  addQos2(clientId: string, msgId: number): void {
    let s = this.#qos2.get(clientId);
    if (s === undefined) this.#qos2.set(clientId, (s = new Set<number>()));
    s.add(msgId);
  }

  removeQos2(clientId: string, msgId: number): void {
    this.#qos2.get(clientId)?.delete(msgId);
  }

  setRetained(msg: RetainedMessage): void {
    if (msg.payload.length === 0) this.#retained.delete(msg.topic);
    else this.#retained.set(msg.topic, msg);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A deep copy; structuredClone would turn the will's Buffer into a plain Uint8Array. */
function copySession(s: PersistedSession): PersistedSession {
  return {
    ...s,
    ...(s.v2 === undefined ? {} : { v2: { ...s.v2 } }),
    will: s.will === undefined ? undefined : { ...s.will, payload: Buffer.from(s.will.payload) },
    subscriptions: s.subscriptions.map((x) => ({ ...x })),
    topics: s.topics.map((t) => ({ ...t })),
  };
}
