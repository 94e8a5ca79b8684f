/**
 * Topic ids (MQTT-SN.md §4.5): the predefined table shared by every client, and the per-client
 * registry of normal ids handed out by REGISTER/REGACK and SUBACK.
 *
 * Short topic names (TopicIdType 0b10) are neither: the two characters are the topic, so callers
 * never pass them here. A two-character name that a client REGISTERs or SUBSCRIBEs as a normal
 * name (TopicIdType 0b00) is an ordinary name and gets a normal id (MQTT-SN.md §7).
 */
import { TopicError, TopicErrorCode } from './errors.js';
import { validateTopicName } from './topic-names.js';
import { TOPIC_ID_MAX, TOPIC_ID_MIN } from '../codec/constants.js';

const DECIMAL = /^[0-9]+$/;

/**
 * The predefined topic table, configured out of band on the gateway and the clients (§4.5):
 * TopicIdType 0b01, no REGISTER, and the only ids a QoS -1 publisher can use (§4.8).
 */
export class PredefinedTopics {
  readonly #byId = new Map<number, string>();
  readonly #byName = new Map<string, number>();

  /**
   * From the config form `{ "1": "sensors/boot", ... }`: decimal ids 1..65534, valid topic names,
   * each id and each name once. Throws `MQTTSN_ERR_BAD_PREDEFINED_TOPIC` naming the first bad
   * entry (its key is the error's `subject`).
   */
  constructor(table: Readonly<Record<string, string>> = {}) {
    for (const [key, name] of Object.entries(table)) {
      const bad = (why: string): TopicError =>
        new TopicError(TopicErrorCode.BAD_PREDEFINED_TOPIC, `predefined topic ${JSON.stringify(key)}: ${why}`, { subject: key });
      const id = DECIMAL.test(key) ? Number(key) : NaN;
      if (!(id >= TOPIC_ID_MIN && id <= TOPIC_ID_MAX)) throw bad(`the id must be a decimal integer from ${TOPIC_ID_MIN} to ${TOPIC_ID_MAX}`);
      // The table comes from a JSON file: the type says string, the file may not.
      if (typeof name !== 'string') throw bad('the topic name must be a string');
      const reason = validateTopicName(name);
      if (reason !== undefined) throw bad(`${JSON.stringify(name)} is not a valid topic name: ${reason}`);
      const other = this.#byId.get(id);
      if (other !== undefined) throw bad(`id ${id} is given twice (also to ${JSON.stringify(other)})`);
      const otherId = this.#byName.get(name);
      if (otherId !== undefined) throw bad(`${JSON.stringify(name)} already has id ${otherId}`);
      this.#byId.set(id, name);
      this.#byName.set(name, id);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  nameOf(id: number): string | undefined {
    return this.#byId.get(id);
  }

  idOf(name: string): number | undefined {
    return this.#byName.get(name);
  }

  /** (id, name) pairs in configuration order. */
  entries(): IterableIterator<[id: number, name: string]> {
    return this.#byId.entries();
  }
}

/**
 * Bytes of topic names and filters held by every session together (registrations and
 * subscriptions), against one limit (`limits.maxTopicBytesTotal`): many sessions of 1000 long
 * names each would otherwise outgrow a Raspberry Pi's memory.
 */
export interface TopicBudget {
  bytes: number;
  readonly limit: number;
}

/** What one entry is counted as: its name in UTF-8 plus the maps' entries and strings around it. */
export const TOPIC_ENTRY_OVERHEAD = 64;

export function topicCost(name: string): number {
  return Buffer.byteLength(name, 'utf8') + TOPIC_ENTRY_OVERHEAD;
}

/** Whether `cost` more bytes fit. */
export function fits(budget: TopicBudget, cost: number): boolean {
  return budget.bytes + cost <= budget.limit;
}

/** One normal topic id of a client, as a store keeps it. */
export interface TopicRegistration {
  readonly id: number;
  readonly name: string;
}

/** A registration that `restore` left out, and why. */
export interface RejectedRegistration {
  readonly entry: TopicRegistration;
  readonly reason: string;
}

/**
 * The normal topic ids of one client (§4.5: per client, so a stale id from one client cannot hit
 * another client's topic). A two-way map plus an allocator:
 *
 * - ids run upward from 0x0001 to 0xFFFE, skipping ids in use and ids of the predefined table
 *   (the namespaces are separate by the spec, but a device that mixes up the TopicIdType bits
 *   then hits an unknown id instead of the wrong topic);
 * - a deleted id goes to the back of a queue and is handed out again only once fresh ids run out,
 *   and then oldest first: an id reused soon after a PUBACK 0x02 (§4.10) could still be in flight
 *   with its old meaning;
 * - the same name gets the same id while it is registered (§4.6: REGISTER retransmissions).
 *
 * Every step is O(1) amortised: the counter passes each id once between two `clear`s, and each
 * deleted id is queued once.
 */
export class TopicRegistry {
  readonly #predefined: PredefinedTopics | undefined;
  readonly #limit: number;
  readonly #budget: TopicBudget;
  // Created on first registration: most of a gateway's many sessions register nothing, and an
  // empty Map costs a few hundred bytes each.
  #byNameMap: Map<string, number> | undefined;
  #byIdMap: Map<number, string> | undefined;
  /** Every id below `#next` is in use, predefined, or waiting in `#freed`. */
  #next = TOPIC_ID_MIN;
  #freed: number[] = [];
  #freedHead = 0;

  /**
   * @param predefined the table whose ids this registry never hands out
   * @param limit most registrations at once (0..65534); beyond it `idFor` answers `'full'`
   * @param budget shared with other registries: a new name that does not fit gets `'full'` too
   */
  constructor(predefined?: PredefinedTopics, limit: number = TOPIC_ID_MAX, budget: TopicBudget = { bytes: 0, limit: Infinity }) {
    if (!Number.isInteger(limit) || limit < 0 || limit > TOPIC_ID_MAX) {
      throw new TopicError(TopicErrorCode.BAD_LIMIT, `the registration limit must be an integer from 0 to ${TOPIC_ID_MAX}, not ${limit}`, { subject: String(limit) });
    }
    this.#predefined = predefined;
    this.#limit = limit;
    this.#budget = budget;
  }

  #names(): Map<string, number> {
    return (this.#byNameMap ??= new Map<string, number>());
  }

  #ids(): Map<number, string> {
    return (this.#byIdMap ??= new Map<number, string>());
  }

  #has(id: number): boolean {
    return this.#byIdMap?.has(id) === true;
  }

  #hasName(name: string): boolean {
    return this.#byNameMap?.has(name) === true;
  }

  /** Registrations held now. */
  get size(): number {
    return (this.#byIdMap?.size ?? 0);
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * The id of `name`, assigned now if it has none. `'full'` when the limit is reached or no id is
   * left: the gateway answers REGACK/SUBACK 0x01 (congestion, MQTT-SN.md §7). `name` must be a
   * valid topic name; the caller checked it where it came in.
   */
  idFor(name: string): number | 'full' {
    const known = this.#byNameMap?.get(name);
    if (known !== undefined) return known;
    if ((this.#byIdMap?.size ?? 0) >= this.#limit) return 'full';
    const cost = topicCost(name);
    if (!fits(this.#budget, cost)) return 'full';
    const id = this.#take();
    if (id === undefined) return 'full';
    this.#names().set(name, id);
    this.#ids().set(id, name);
    this.#budget.bytes += cost;
    return id;
  }

  /** The id of `name` if it has one; never assigns. */
  lookup(name: string): number | undefined {
    return this.#byNameMap?.get(name);
  }

  /** The name behind a normal id; predefined ids are resolved by `PredefinedTopics`. */
  nameOf(id: number): string | undefined {
    return this.#byIdMap?.get(id);
  }

  /** Forgets an id (e.g. after PUBACK 0x02 from the client, §4.10). */
  delete(id: number): boolean {
    const name = this.#byIdMap?.get(id);
    if (name === undefined) return false;
    this.#ids().delete(id);
    this.#names().delete(name);
    this.#budget.bytes -= topicCost(name);
    // Ids at or above the counter are found again by the counter itself.
    if (id < this.#next) this.#freed.push(id);
    return true;
  }

  /** Forgets everything (CONNECT with CleanSession); ids start again at 0x0001. */
  clear(): void {
    for (const name of this.#byIdMap?.values() ?? []) this.#budget.bytes -= topicCost(name);
    this.#byIdMap = undefined;
    this.#byNameMap = undefined;
    this.#next = TOPIC_ID_MIN;
    this.#freed = [];
    this.#freedHead = 0;
  }

  /** A snapshot of the registrations, for a store. */
  entries(): TopicRegistration[] {
    const out: TopicRegistration[] = [];
    for (const [id, name] of this.#byIdMap ?? []) out.push({ id, name });
    return out;
  }

  /**
   * Replaces the content with stored registrations. Entries that cannot be taken back are left
   * out and returned with the reason, for the log: an id out of range, a repeated id or name, an
   * invalid name, or an id that the predefined table took since it was stored (configuration
   * changed). The limits are not applied: a client keeps what it was given, and gets `'full'` for
   * new names until it is back under them.
   */
  restore(entries: Iterable<TopicRegistration>): RejectedRegistration[] {
    this.clear();
    const rejected: RejectedRegistration[] = [];
    for (const entry of entries) {
      const { id, name } = entry;
      let reason: string | undefined;
      if (!Number.isInteger(id) || id < TOPIC_ID_MIN || id > TOPIC_ID_MAX) reason = `id ${id} is outside ${TOPIC_ID_MIN}..${TOPIC_ID_MAX}`;
      else if (this.#predefined?.has(id) === true) reason = `id ${id} is now a predefined topic id`;
      else if (this.#has(id)) reason = `id ${id} is given twice`;
      else if (typeof name !== 'string') reason = 'the name is not a string';
      else if (this.#hasName(name)) reason = `${JSON.stringify(name)} is given twice`;
      else {
        const why = validateTopicName(name);
        if (why !== undefined) reason = `${JSON.stringify(name)} is not a valid topic name: ${why}`;
      }
      if (reason !== undefined) {
        rejected.push({ entry, reason });
        continue;
      }
      this.#ids().set(id, name);
      this.#names().set(name, id);
      this.#budget.bytes += topicCost(name);
    }
    return rejected;
  }

  #take(): number | undefined {
    while (this.#next <= TOPIC_ID_MAX) {
      const id = this.#next++;
      if (!this.#has(id) && this.#predefined?.has(id) !== true) return id;
    }
    if (this.#freedHead < this.#freed.length) {
      const id = this.#freed[this.#freedHead++]!;
      // Drop the consumed head now and then, so the queue does not only grow.
      if (this.#freedHead >= 1024 && this.#freedHead * 2 >= this.#freed.length) {
        this.#freed = this.#freed.slice(this.#freedHead);
        this.#freedHead = 0;
      }
      return id;
    }
    return undefined;
  }
}
