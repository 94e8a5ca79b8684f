/**
 * Where the front end sent the devices it moved off their home instance (the one rendezvous
 * hashing over all instances picks), so they stay there when the home instance comes back.
 *
 * Without it a device that failed over is hashed back to its returned home in mid-session: the
 * home answers DISCONNECT (it has no session), the device CONNECTs again there, and the two
 * instances take the device's upstream client id from each other in turn. The promise is
 * "one device on one instance while that instance lives"; the home coming back does not end the
 * life of the instance the device is on now.
 *
 * Only moved devices have an entry: a device on its home needs none (rendezvous hashing keeps it
 * there whatever else comes and goes), so the table holds the devices of instances that were out
 * once, not the fleet. An entry is forgotten `idleMs` after the device's last datagram (the
 * device then goes home, as a new one would), and the table holds at most `maxEntries`: beyond
 * that a moved device is not remembered and is routed by the hash alone (back home when its home
 * returns, as without the table), counted in {@link AffinityTable.full}.
 *
 * Entries are kept in least-recently-used order (a Map's insertion order, refreshed by delete and
 * set), so expiry looks only at the oldest. Time is passed in, so tests need no clock.
 */
interface Entry {
  instance: number;
  lastSeen: number;
}

export class AffinityTable {
  readonly #entries = new Map<string, Entry>();
  /** moves not remembered because the table was full */
  full = 0;

  constructor(
    readonly maxEntries: number,
    readonly idleMs: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`front end: affinity.maxEntries ${maxEntries} is not a whole number >= 0`);
    if (!(idleMs > 0)) throw new RangeError(`front end: affinity idle time ${idleMs} ms is not above 0`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The instance `device` was moved to, with its idle clock restarted; undefined when none (or idle too long). */
  get(device: string, now: number): number | undefined {
    const e = this.#entries.get(device);
    if (e === undefined) return undefined;
    this.#entries.delete(device);
    if (now - e.lastSeen > this.idleMs) return undefined;
    e.lastSeen = now;
    this.#entries.set(device, e);
    return e.instance;
  }

  /** Remembers that `device` now goes to `instance`; false (and counted) when the table is full. */
  set(device: string, instance: number, now: number): boolean {
    const e = this.#entries.get(device);
    if (e !== undefined) {
      this.#entries.delete(device);
      e.instance = instance;
      e.lastSeen = now;
      this.#entries.set(device, e);
      return true;
    }
    if (this.#entries.size >= this.maxEntries) {
      // Expired entries make room before a move goes unremembered.
      this.expire(now);
      if (this.#entries.size >= this.maxEntries) {
        this.full++;
        return false;
      }
    }
    this.#entries.set(device, { instance, lastSeen: now });
    return true;
  }

  /** The device is back on its home instance: nothing to remember. */
  delete(device: string): void {
    this.#entries.delete(device);
  }

  /** Forgets the entries idle for longer than idleMs; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [device, e] of this.#entries) {
      if (now - e.lastSeen <= this.idleMs) break;
      this.#entries.delete(device);
      n++;
    }
    return n;
  }
}
