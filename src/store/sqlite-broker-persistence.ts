/**
 * The local broker core's sessions on the SQLite file: aedes' persistence interface (the promise
 * form aedes 1.2 calls), so a local MQTT client with clean session false keeps its subscriptions,
 * the QoS 1/2 messages queued for it, its QoS 2 flows in both directions and its will across a
 * restart or a `kill -9`.
 *
 * Memory serves, the file remembers: every read (the topic match on each QoS 1/2 publish, a queue
 * streamed at CONNECT) is answered from memory, as aedes' memory persistence does, and every
 * change is written into the file's open batch in the same call, before its promise resolves. So
 * whoever flushes the store after a publish (the MQTT-SN PUBACK, a listener client's PUBACK via
 * aedes' `published` hook, the bridge's upstream acknowledgement) also covers the offline queue
 * entries the publish caused: one transaction discipline for the whole file. At `setup` the rows
 * are read back into memory.
 *
 * Subscriptions, their topic matching and the client list are aedes-persistence's own memory code
 * (inherited); the queues, the QoS 2 ids and the wills are kept here, with the same semantics, so
 * each entry knows its row. Retained messages are not kept by this class: `persistRetained`
 * (broker/retained-persistence.ts) already writes them to the `retained` table and puts them back
 * at start, for every kind of store.
 */
import { Readable } from 'node:stream';
import MemoryPersistence, { type ClientRef, type PersistedSubscription, type StoredPacket } from 'aedes-persistence/asyncPersistence.js';
import type Database from 'better-sqlite3';
import type { SqliteFile } from './sqlite-file.js';

const { Packet } = MemoryPersistence;

interface Entry {
  /** its row in `broker_outgoing` */
  readonly seq: number;
  packet: StoredPacket;
}

interface PacketRow {
  client_id: string;
  packet: string;
  payload: Buffer;
}

function statements(db: Database.Database) {
  return {
    addSub: db.prepare(
      'INSERT INTO broker_subscription (client_id, topic, qos, options) VALUES (?, ?, ?, ?) ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos, options = excluded.options',
    ),
    removeSub: db.prepare('DELETE FROM broker_subscription WHERE client_id = ? AND topic = ?'),
    cleanSubs: db.prepare('DELETE FROM broker_subscription WHERE client_id = ?'),
    enqueue: db.prepare('INSERT INTO broker_outgoing (seq, client_id, packet, payload) VALUES (?, ?, ?, ?)'),
    updateOutgoing: db.prepare('UPDATE broker_outgoing SET packet = ?, payload = ? WHERE seq = ?'),
    dequeue: db.prepare('DELETE FROM broker_outgoing WHERE seq = ?'),
    storeIncoming: db.prepare('INSERT OR REPLACE INTO broker_incoming (client_id, message_id, packet, payload) VALUES (?, ?, ?, ?)'),
    delIncoming: db.prepare('DELETE FROM broker_incoming WHERE client_id = ? AND message_id = ?'),
    cleanIncoming: db.prepare('DELETE FROM broker_incoming WHERE client_id = ?'),
    putWill: db.prepare('INSERT OR REPLACE INTO broker_will (client_id, packet, payload) VALUES (?, ?, ?)'),
    delWill: db.prepare('DELETE FROM broker_will WHERE client_id = ?'),
    subs: db.prepare('SELECT client_id, topic, qos, options FROM broker_subscription ORDER BY rowid'),
    outgoing: db.prepare('SELECT seq, client_id, packet, payload FROM broker_outgoing ORDER BY client_id, seq'),
    incoming: db.prepare('SELECT client_id, packet, payload FROM broker_incoming'),
    wills: db.prepare('SELECT client_id, packet, payload FROM broker_will'),
    maxSeq: db.prepare('SELECT ifnull(max(seq), 0) AS m FROM broker_outgoing'),
  };
}

/** A packet as a row: its payload as bytes, every other field as JSON (functions and undefined left out). */
function packetColumns(p: StoredPacket): [string, Buffer] {
  const { payload, ...rest } = p;
  const bytes = payload === undefined ? Buffer.alloc(0) : typeof payload === 'string' ? Buffer.from(payload) : payload;
  return [JSON.stringify(rest), bytes];
}

/** Buffers inside a packet (MQTT 5 correlation data) come back as Buffers, not `{type, data}`. */
function reviveBuffers(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

function packetFromRow(r: { packet: string; payload: Buffer }): StoredPacket {
  const p = JSON.parse(r.packet, reviveBuffers) as StoredPacket;
  // A PUBREL standing in for its publish has no payload; a will has no `cmd`, but a payload.
  if (p.cmd !== 'pubrel') p.payload = r.payload;
  return p;
}

export class SqliteBrokerPersistence extends MemoryPersistence {
  readonly #file: SqliteFile;
  readonly #s: ReturnType<typeof statements>;
  /** by client id, in order */
  readonly #outgoing = new Map<string, Entry[]>();
  /** by client id, then message id: QoS 2 publishes received and awaiting PUBREL */
  readonly #incoming = new Map<string, Map<number, StoredPacket>>();
  readonly #wills = new Map<string, StoredPacket>();
  #nextSeq = 1;

  /** The file stays the caller's: `destroy()` does not close it. */
  constructor(file: SqliteFile) {
    super();
    this.#file = file;
    this.#s = statements(file.db);
  }

  override async setup(broker: unknown): Promise<void> {
    await super.setup(broker);
    const byClient = new Map<string, PersistedSubscription[]>();
    for (const r of this.#s.subs.iterate() as IterableIterator<{ client_id: string; topic: string; qos: 0 | 1 | 2; options: string }>) {
      let subs = byClient.get(r.client_id);
      if (subs === undefined) byClient.set(r.client_id, (subs = []));
      subs.push({ topic: r.topic, qos: r.qos, ...(JSON.parse(r.options) as Omit<PersistedSubscription, 'topic' | 'qos'>) });
    }
    for (const [id, subs] of byClient) await super.addSubscriptions({ id }, subs);
    for (const r of this.#s.outgoing.iterate() as IterableIterator<PacketRow & { seq: number }>) {
      this.#queue(r.client_id).push({ seq: r.seq, packet: packetFromRow(r) });
    }
    this.#nextSeq = (this.#s.maxSeq.get() as { m: number }).m + 1;
    for (const r of this.#s.incoming.iterate() as IterableIterator<PacketRow>) {
      const p = packetFromRow(r);
      if (p.messageId !== undefined) this.#incomingOf(r.client_id).set(p.messageId, p);
    }
    for (const r of this.#s.wills.iterate() as IterableIterator<PacketRow>) this.#wills.set(r.client_id, packetFromRow(r));
  }

  /** Counts of what is kept, for logs and tests. */
  get kept(): { clients: number; queued: number; incoming: number; wills: number } {
    let queued = 0;
    for (const q of this.#outgoing.values()) queued += q.length;
    let incoming = 0;
    for (const m of this.#incoming.values()) incoming += m.size;
    return { clients: new Set([...this.#outgoing.keys(), ...this.#incoming.keys()]).size, queued, incoming, wills: this.#wills.size };
  }

  override async addSubscriptions(client: ClientRef, subs: PersistedSubscription[]): Promise<void> {
    await super.addSubscriptions(client, subs);
    this.#file.write(() => {
      for (const { topic, qos, ...options } of subs) this.#s.addSub.run(client.id, topic, qos, JSON.stringify(options));
    });
  }

  override async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    this.#file.write(() => {
      for (const topic of topics) this.#s.removeSub.run(client.id, topic);
    });
  }

  /** aedes calls this on every clean-session CONNECT: a write only for a client that had any. */
  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    const had = (await super.subscriptionsByClient(client)).length > 0;
    await super.cleanSubscriptions(client);
    if (had) this.#file.write(() => this.#s.cleanSubs.run(client.id));
  }

  override outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    this.#enqueue(sub.clientId, packet);
    return Promise.resolve();
  }

  override outgoingEnqueueCombi(subs: ReadonlyArray<{ clientId: string }>, packet: StoredPacket): Promise<void> {
    for (const sub of subs) this.#enqueue(sub.clientId, packet);
    return Promise.resolve();
  }

  /**
   * The entry of the same publish (broker id and counter) gets its message id; otherwise the entry
   * with the packet's message id is replaced by it (a PUBREL after PUBREC). aedes-persistence's
   * memory semantics, the row following each change.
   *
   * aedes sends the packet when this resolves. For QoS 2 that waits until the change is durable:
   * a PUBLISH whose message id, or a PUBREL whose PUBREC, a crash forgot would be sent again as a
   * new PUBLISH, and the client, which released the id with its PUBCOMP, would take the message a
   * second time (MQTT 3.1.1 §4.3.3). QoS 1 may arrive twice anyway; it does not wait.
   */
  override outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    for (const e of this.#outgoing.get(client.id) ?? []) {
      if (e.packet.brokerId === packet.brokerId) {
        if (e.packet.brokerCounter !== packet.brokerCounter) continue;
        e.packet.messageId = packet.messageId;
      } else if (e.packet.messageId === packet.messageId) {
        e.packet = packet;
      } else {
        continue;
      }
      const [json, payload] = packetColumns(e.packet);
      this.#file.write(() => this.#s.updateOutgoing.run(json, payload, e.seq));
      return e.packet.cmd === 'pubrel' || e.packet.qos === 2 ? this.#file.flush() : Promise.resolve();
    }
    return Promise.reject(new Error('no such packet'));
  }

  override outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    const queue = this.#outgoing.get(client.id);
    // aedes passes a PUBACK or PUBCOMP here, and a packet it did not forward (its id still unset).
    const messageId = packet?.messageId;
    const i = queue?.findIndex((e) => e.packet.messageId === messageId) ?? -1;
    if (queue === undefined || i < 0) return Promise.resolve(undefined);
    const [e] = queue.splice(i, 1);
    if (queue.length === 0) this.#outgoing.delete(client.id);
    this.#file.write(() => this.#s.dequeue.run(e!.seq));
    return Promise.resolve(e!.packet);
  }

  override outgoingStream(client: ClientRef): Readable {
    // A copy: entries cleared while aedes streams must not shift the ones still to come.
    return Readable.from((this.#outgoing.get(client.id) ?? []).map((e) => e.packet));
  }

  override incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    const p = new Packet(packet);
    p.messageId = packet.messageId;
    this.#incomingOf(client.id).set(packet.messageId ?? 0, p);
    const [json, payload] = packetColumns(p);
    this.#file.write(() => this.#s.storeIncoming.run(client.id, packet.messageId ?? 0, json, payload));
    return Promise.resolve();
  }

  override incomingGetPacket(client: ClientRef, packet: Pick<StoredPacket, 'messageId'>): Promise<StoredPacket> {
    const p = this.#incoming.get(client.id)?.get(packet.messageId ?? 0);
    return p === undefined ? Promise.reject(new Error('no such packet')) : Promise.resolve(p);
  }

  override incomingDelPacket(client: ClientRef, packet: Pick<StoredPacket, 'messageId'>): Promise<void> {
    const held = this.#incoming.get(client.id);
    const id = packet.messageId ?? 0;
    if (held?.delete(id) !== true) return Promise.reject(new Error('no such packet'));
    if (held.size === 0) this.#incoming.delete(client.id);
    this.#file.write(() => this.#s.delIncoming.run(client.id, id));
    return Promise.resolve();
  }

  override cleanIncoming(client: ClientRef): Promise<void> {
    if (this.#incoming.delete(client.id)) this.#file.write(() => this.#s.cleanIncoming.run(client.id));
    return Promise.resolve();
  }

  override putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    packet.brokerId = this.broker.id;
    packet.clientId = client.id;
    this.#wills.set(client.id, packet);
    const [json, payload] = packetColumns(packet);
    this.#file.write(() => this.#s.putWill.run(client.id, json, payload));
    return Promise.resolve();
  }

  override getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    return Promise.resolve(this.#wills.get(client.id));
  }

  override delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = this.#wills.get(client.id);
    if (will !== undefined) {
      this.#wills.delete(client.id);
      this.#file.write(() => this.#s.delWill.run(client.id));
    }
    return Promise.resolve(will);
  }

  /** Wills of clients of brokers not in `brokers`: after a restart, those of the clients connected at the crash. */
  override streamWill(brokers: Record<string, unknown> = {}): Readable {
    return Readable.from([...this.#wills.values()].filter((w) => !brokers[w.brokerId ?? '']));
  }

  #enqueue(clientId: string, packet: StoredPacket): void {
    const entry: Entry = { seq: this.#nextSeq++, packet: new Packet(packet) };
    this.#queue(clientId).push(entry);
    const [json, payload] = packetColumns(entry.packet);
    this.#file.write(() => this.#s.enqueue.run(entry.seq, clientId, json, payload));
  }

  #queue(clientId: string): Entry[] {
    let q = this.#outgoing.get(clientId);
    if (q === undefined) this.#outgoing.set(clientId, (q = []));
    return q;
  }

  #incomingOf(clientId: string): Map<number, StoredPacket> {
    let m = this.#incoming.get(clientId);
    if (m === undefined) this.#incoming.set(clientId, (m = new Map<number, StoredPacket>()));
    return m;
  }
}
