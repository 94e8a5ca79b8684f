/**
 * The session store on SQLite: the default on disk, so a restart, a crash or a power cut loses no
 * kept session and no QoS 1/2 message. The upstream outbound queue lives in the same file
 * (`outboundQueue()`), so one `flush()` covers both and one fsync acknowledges a message that was
 * queued for a sleeper and for the upstream at once.
 *
 * Every write is a prepared statement run inside the batch of `SqliteFile` (one transaction per
 * event-loop turn); `load()` reads through the same connection, so it sees writes not yet
 * committed, as the memory store does.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import type { PersistedDelivery, PersistedSession, PersistedState, PersistedSubscription, Will, RetainedMessage, SessionStore, StoredState } from './session-store.js';
import { SqliteFile, type SqliteFileOptions, type StoreHealth } from './sqlite-file.js';
import { SqliteOutboundQueue } from './sqlite-queue.js';
import type { OutboundQueueLimits } from './types.js';

type QoS = 0 | 1 | 2;
type SubscriptionKind = PersistedSession['subscriptions'][number]['kind'];

interface SessionRow {
  client_id: string;
  transport: string | null;
  peer_key: string | null;
  state: PersistedState;
  clean_session: number;
  keep_alive_sec: number;
  sleep_sec: number;
  will_topic: string | null;
  will_payload: Buffer | null;
  will_qos: number | null;
  will_retain: number | null;
  /** '1.2' or '2.0' (schema version 4); the 2.0 columns are NULL / 0 for 1.2 */
  protocol: string;
  session_expiry_sec: number | null;
  awake_limit: number | null;
  max_packet_size: number;
  address_change: number;
  silent_since: number | null;
}

interface SubscriptionRow {
  filter: string;
  qos: QoS;
  kind: SubscriptionKind;
  no_local: number;
  retain_as_published: number;
}

/**
 * What the file holds of one session, as last written: `saveSession` writes only what differs
 * from it, so a REGISTER costs one row however many ids the session has.
 */
interface Written {
  /** undefined until the session's row is written */
  row: SessionRow | undefined;
  /** topic id -> name */
  topics: Map<number, string>;
  /** filter -> `subscriptionKey` */
  subscriptions: Map<string, string>;
}

interface DeliveryRow {
  seq: number;
  client_id: string;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: number;
  msg_id: number | null;
  stage: NonNullable<PersistedDelivery['sent']>['stage'] | null;
}

/** Prepared once: a statement per write keeps the hot path (enqueue, markSent, dequeue) to one step each. */
function statements(db: Database.Database) {
  return {
    saveSession: db.prepare(`INSERT INTO session (client_id, transport, peer_key, state, clean_session, keep_alive_sec, sleep_sec,
        will_topic, will_payload, will_qos, will_retain, protocol, session_expiry_sec, awake_limit, max_packet_size, address_change, silent_since)
      VALUES (@client_id, @transport, @peer_key, @state, @clean_session, @keep_alive_sec, @sleep_sec,
        @will_topic, @will_payload, @will_qos, @will_retain, @protocol, @session_expiry_sec, @awake_limit, @max_packet_size, @address_change, @silent_since)
      ON CONFLICT (client_id) DO UPDATE SET transport = excluded.transport, peer_key = excluded.peer_key, state = excluded.state,
        clean_session = excluded.clean_session, keep_alive_sec = excluded.keep_alive_sec, sleep_sec = excluded.sleep_sec,
        will_topic = excluded.will_topic, will_payload = excluded.will_payload, will_qos = excluded.will_qos,
        will_retain = excluded.will_retain, protocol = excluded.protocol, session_expiry_sec = excluded.session_expiry_sec,
        awake_limit = excluded.awake_limit, max_packet_size = excluded.max_packet_size, address_change = excluded.address_change,
        silent_since = excluded.silent_since`),
    setTopic: db.prepare('INSERT INTO session_topic (client_id, topic_id, name) VALUES (?, ?, ?) ON CONFLICT (client_id, topic_id) DO UPDATE SET name = excluded.name'),
    deleteTopic: db.prepare('DELETE FROM session_topic WHERE client_id = ? AND topic_id = ?'),
    setSubscription: db.prepare(
      `INSERT INTO session_subscription (client_id, filter, qos, kind, no_local, retain_as_published) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (client_id, filter) DO UPDATE SET qos = excluded.qos, kind = excluded.kind, no_local = excluded.no_local, retain_as_published = excluded.retain_as_published`,
    ),
    deleteSubscription: db.prepare('DELETE FROM session_subscription WHERE client_id = ? AND filter = ?'),
    deleteSession: db.prepare('DELETE FROM session WHERE client_id = ?'),
    deleteTopics: db.prepare('DELETE FROM session_topic WHERE client_id = ?'),
    deleteSubscriptions: db.prepare('DELETE FROM session_subscription WHERE client_id = ?'),
    deleteQueue: db.prepare('DELETE FROM delivery WHERE client_id = ?'),
    deleteQos2: db.prepare('DELETE FROM qos2 WHERE client_id = ?'),
    enqueue: db.prepare('INSERT INTO delivery (seq, client_id, topic, payload, qos, retain) VALUES (?, ?, ?, ?, ?, ?)'),
    markSent: db.prepare('UPDATE delivery SET msg_id = ?, stage = ? WHERE seq = ? AND client_id = ?'),
    dequeue: db.prepare('DELETE FROM delivery WHERE seq = ? AND client_id = ?'),
    addQos2: db.prepare('INSERT OR IGNORE INTO qos2 (client_id, msg_id) VALUES (?, ?)'),
    removeQos2: db.prepare('DELETE FROM qos2 WHERE client_id = ? AND msg_id = ?'),
    setRetained: db.prepare('INSERT INTO retained (topic, payload, qos) VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos'),
    clearRetained: db.prepare('DELETE FROM retained WHERE topic = ?'),
    sessions: db.prepare('SELECT * FROM session ORDER BY client_id'),
    session: db.prepare('SELECT * FROM session WHERE client_id = ?'),
    allTopics: db.prepare('SELECT client_id, topic_id, name FROM session_topic ORDER BY rowid'),
    topicsOf: db.prepare('SELECT topic_id, name FROM session_topic WHERE client_id = ? ORDER BY rowid'),
    allSubscriptions: db.prepare('SELECT client_id, filter, qos, kind, no_local, retain_as_published FROM session_subscription ORDER BY rowid'),
    subscriptionsOf: db.prepare('SELECT filter, qos, kind, no_local, retain_as_published FROM session_subscription WHERE client_id = ? ORDER BY rowid'),
    deliveries: db.prepare('SELECT * FROM delivery ORDER BY client_id, seq'),
    qos2: db.prepare('SELECT client_id, msg_id FROM qos2 ORDER BY client_id, msg_id'),
    retained: db.prepare('SELECT topic, payload, qos FROM retained ORDER BY topic'),
    stored: db.prepare('SELECT client_id FROM session UNION SELECT client_id FROM delivery UNION SELECT client_id FROM qos2'),
  };
}

export class SqliteStore implements SessionStore {
  readonly file: SqliteFile;
  readonly #s: ReturnType<typeof statements>;
  readonly #openQueues = new Set<string>();
  /**
   * Client ids with any row. The gateway forgets every session that is not kept, also those it
   * never stored (each clean-session CONNECT, REGISTER and SUBSCRIBE): for those, nothing to do.
   */
  readonly #stored = new Set<string>();
  /** By client id, filled on a session's first save; dropped whole when a batch is lost (see `#written`). */
  readonly #written = new Map<string, Written>();
  #writtenEpoch = 0;

  private constructor(file: SqliteFile) {
    this.file = file;
    this.#s = statements(file.db);
    for (const r of this.#s.stored.iterate() as IterableIterator<{ client_id: string }>) this.#stored.add(r.client_id);
  }

  /**
   * Opens or creates the store at `path`.
   * @throws StoreError `MQTTSN_ERR_STORE_CORRUPT`, `_FOREIGN`, `_TOO_NEW`, `_LOCKED` or `_OPEN_FAILED`
   */
  static open(path: string, options: SqliteFileOptions = {}): SqliteStore {
    return new SqliteStore(SqliteFile.open(path, options));
  }

  get path(): string {
    return this.file.path;
  }

  /**
   * The outbound queue called `name` in this file, with what it held when the store was last
   * closed (or killed). One instance per name at a time; its `close()` leaves the store open.
   */
  outboundQueue(limits: OutboundQueueLimits, name = 'upstream'): SqliteOutboundQueue {
    if (this.file.closed) throw new StoreError(StoreErrorCode.CLOSED, `store ${this.path} is closed`, { path: this.path });
    if (this.#openQueues.has(name)) throw new RangeError(`outbound queue ${JSON.stringify(name)} is already open`);
    this.#openQueues.add(name);
    return new SqliteOutboundQueue(this.file, name, limits, () => this.#openQueues.delete(name));
  }

  load(): Promise<StoredState> {
    if (this.file.closed) return Promise.reject(new StoreError(StoreErrorCode.CLOSED, `store ${this.path} is closed`, { path: this.path }));
    const sessions = (this.#s.sessions.all() as SessionRow[]).map(sessionFromRow);
    const byId = new Map(sessions.map((x) => [x.clientId, x]));
    for (const r of this.#s.allTopics.iterate() as IterableIterator<{ client_id: string; topic_id: number; name: string }>) {
      byId.get(r.client_id)?.topics.push({ id: r.topic_id, name: r.name });
    }
    for (const r of this.#s.allSubscriptions.iterate() as IterableIterator<SubscriptionRow & { client_id: string }>) {
      byId.get(r.client_id)?.subscriptions.push(subscriptionFromRow(r));
    }
    const queues = new Map<string, PersistedDelivery[]>();
    for (const r of this.#s.deliveries.iterate() as IterableIterator<DeliveryRow>) {
      let q = queues.get(r.client_id);
      if (q === undefined) queues.set(r.client_id, (q = []));
      const d: PersistedDelivery = { seq: r.seq, topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain !== 0 };
      if (r.msg_id !== null && r.stage !== null) d.sent = { msgId: r.msg_id, stage: r.stage };
      q.push(d);
    }
    const qos2 = new Map<string, number[]>();
    for (const r of this.#s.qos2.iterate() as IterableIterator<{ client_id: string; msg_id: number }>) {
      let ids = qos2.get(r.client_id);
      if (ids === undefined) qos2.set(r.client_id, (ids = []));
      ids.push(r.msg_id);
    }
    const retained = (this.#s.retained.all() as Array<{ topic: string; payload: Buffer; qos: QoS }>).map((r) => ({ topic: r.topic, payload: r.payload, qos: r.qos }));
    return Promise.resolve({ sessions, queues, qos2, retained });
  }

  saveSession(s: PersistedSession): void {
    const row: SessionRow = {
      client_id: s.clientId,
      transport: s.transport ?? null,
      peer_key: s.peerKey ?? null,
      state: s.state,
      clean_session: s.cleanSession ? 1 : 0,
      keep_alive_sec: s.keepAliveSec,
      sleep_sec: s.sleepSec,
      will_topic: s.will?.topic ?? null,
      will_payload: s.will?.payload ?? null,
      will_qos: s.will?.qos ?? null,
      will_retain: s.will === undefined ? null : s.will.retain ? 1 : 0,
      protocol: s.v2 === undefined ? '1.2' : '2.0',
      session_expiry_sec: s.v2?.sessionExpirySec ?? null,
      awake_limit: s.v2?.awakeLimit ?? null,
      max_packet_size: s.v2?.maxPacketSize ?? 0,
      address_change: s.v2?.allowAddressChange === true ? 1 : 0,
      silent_since: s.silentSince ?? null,
    };
    const id = s.clientId;
    const w = this.#writtenOf(id);
    this.#stored.add(id);
    this.file.write(() => {
      if (w.row === undefined || !sameRow(w.row, row)) this.#s.saveSession.run(row);
      w.row = row;
      const topics = new Set<number>();
      for (const t of s.topics) {
        topics.add(t.id);
        if (w.topics.get(t.id) === t.name) continue;
        this.#s.setTopic.run(id, t.id, t.name);
        w.topics.set(t.id, t.name);
      }
      for (const t of w.topics.keys()) {
        if (topics.has(t)) continue;
        this.#s.deleteTopic.run(id, t);
        w.topics.delete(t);
      }
      const filters = new Set<string>();
      for (const x of s.subscriptions) {
        filters.add(x.filter);
        const value = subscriptionKey(x);
        if (w.subscriptions.get(x.filter) === value) continue;
        this.#s.setSubscription.run(id, x.filter, x.qos, x.kind, x.noLocal === true ? 1 : 0, x.retainAsPublished === true ? 1 : 0);
        w.subscriptions.set(x.filter, value);
      }
      for (const f of w.subscriptions.keys()) {
        if (filters.has(f)) continue;
        this.#s.deleteSubscription.run(id, f);
        w.subscriptions.delete(f);
      }
    });
  }

  /**
   * What the file holds of `clientId`, read once. A lost batch rolled back writes this map had
   * taken as done: then every entry is read again from the file.
   */
  #writtenOf(clientId: string): Written {
    if (this.file.stats.failedBatches !== this.#writtenEpoch) {
      this.#written.clear();
      this.#writtenEpoch = this.file.stats.failedBatches;
    }
    let w = this.#written.get(clientId);
    if (w !== undefined) return w;
    w = { row: undefined, topics: new Map(), subscriptions: new Map() };
    if (this.#stored.has(clientId)) {
      w.row = this.#s.session.get(clientId) as SessionRow | undefined;
      for (const r of this.#s.topicsOf.iterate(clientId) as IterableIterator<{ topic_id: number; name: string }>) w.topics.set(r.topic_id, r.name);
      for (const r of this.#s.subscriptionsOf.iterate(clientId) as IterableIterator<SubscriptionRow>) {
        w.subscriptions.set(r.filter, subscriptionKey(subscriptionFromRow(r)));
      }
    }
    this.#written.set(clientId, w);
    return w;
  }

  deleteSession(clientId: string): void {
    this.#written.delete(clientId);
    if (!this.#stored.delete(clientId)) return;
    this.file.write(() => {
      this.#s.deleteSession.run(clientId);
      this.#s.deleteTopics.run(clientId);
      this.#s.deleteSubscriptions.run(clientId);
      this.#s.deleteQueue.run(clientId);
      this.#s.deleteQos2.run(clientId);
    });
  }

  enqueue(clientId: string, d: Omit<PersistedDelivery, 'seq' | 'sent'>): number {
    const seq = this.file.nextSeq();
    this.#stored.add(clientId);
    this.file.write(() => this.#s.enqueue.run(seq, clientId, d.topic, d.payload, d.qos, d.retain ? 1 : 0));
    return seq;
  }

  markSent(clientId: string, seq: number, sent: NonNullable<PersistedDelivery['sent']>): void {
    this.file.write(() => this.#s.markSent.run(sent.msgId, sent.stage, seq, clientId));
  }

  dequeue(clientId: string, seq: number): void {
    this.file.write(() => this.#s.dequeue.run(seq, clientId));
  }

  addQos2(clientId: string, msgId: number): void {
    this.#stored.add(clientId);
    this.file.write(() => this.#s.addQos2.run(clientId, msgId));
  }

  removeQos2(clientId: string, msgId: number): void {
    this.file.write(() => this.#s.removeQos2.run(clientId, msgId));
  }

  setRetained(msg: RetainedMessage): void {
    if (msg.payload.length === 0) this.file.write(() => this.#s.clearRetained.run(msg.topic));
    else this.file.write(() => this.#s.setRetained.run(msg.topic, msg.payload, msg.qos));
  }

  flush(since?: number): Promise<void> {
    return this.file.flush(since);
  }

  lostBatches(): number {
    return this.file.stats.failedBatches;
  }

  undoIfLost(fn: () => void): void {
    this.file.undoIfLost(fn);
  }

  /** Whether writes can be made durable now (see SqliteFile.health). */
  health(): StoreHealth {
    return this.file.health();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function sameRow(a: SessionRow, b: SessionRow): boolean {
  for (const k of Object.keys(a) as Array<keyof SessionRow>) {
    const x = a[k];
    const y = b[k];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y) ? !x.equals(y) : x !== y) return false;
  }
  return true;
}

/** The session's own row; its topic ids and subscriptions are rows of their own, added by `load()`. */
function sessionFromRow(r: SessionRow): PersistedSession {
  const will: Will | undefined =
    r.will_topic === null ? undefined : { topic: r.will_topic, payload: r.will_payload ?? Buffer.alloc(0), qos: (r.will_qos ?? 0) as QoS, retain: r.will_retain === 1 };
  const s: PersistedSession = {
    clientId: r.client_id,
    transport: r.transport ?? undefined,
    peerKey: r.peer_key ?? undefined,
    state: r.state,
    cleanSession: r.clean_session !== 0,
    keepAliveSec: r.keep_alive_sec,
    sleepSec: r.sleep_sec,
    will,
    subscriptions: [],
    topics: [],
  };
  // Optional fields only when set, as the memory store gives back what it was given.
  if (r.protocol === '2.0') {
    s.v2 = { sessionExpirySec: r.session_expiry_sec ?? 0, awakeLimit: r.awake_limit ?? undefined, maxPacketSize: r.max_packet_size, allowAddressChange: r.address_change !== 0 };
  }
  if (r.silent_since !== null) s.silentSince = r.silent_since;
  return s;
}

function subscriptionFromRow(r: SubscriptionRow): PersistedSubscription {
  const x: PersistedSubscription = { filter: r.filter, qos: r.qos, kind: r.kind };
  if (r.no_local !== 0) x.noLocal = true;
  if (r.retain_as_published !== 0) x.retainAsPublished = true;
  return x;
}

/** What `saveSession` compares to tell whether a subscription's row must be written again. */
function subscriptionKey(x: PersistedSubscription): string {
  return `${x.qos}:${x.kind}:${x.noLocal === true ? 1 : 0}${x.retainAsPublished === true ? 1 : 0}`;
}
