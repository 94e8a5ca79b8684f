/**
 * The QoS 2 messages the broker has sent one session (a device's, across the connections of its
 * link) and not yet released, by packet id: MQTT 3.1.1 §4.3.3's receiver, "Method B". An id is
 * known from the first PUBLISH that carries it until the broker's PUBREL; a PUBLISH with a known
 * id is that same message sent again (§4.4, after a reconnect), never handed on twice.
 *
 * The PUBREC waits for the receiver (the device has the message), so it may be due on a connection
 * other than the one the PUBLISH came on: a message the device still holds when the link
 * reconnects is answered on the new connection once the device is done, and one it was done with
 * while no connection stood is answered as soon as the broker sends it again.
 *
 * Bounded by the packet ids the broker has in flight to this client (its receive window; never
 * more than 65535), each a flag and the function that writes its PUBREC.
 */

interface Receipt {
  /** writes the PUBREC on the connection the message last came on; false when that one is gone */
  pubrec: () => boolean;
  /** the receiver is done with the message: a PUBREC is due */
  done: boolean;
}

export class IncomingQos2 {
  readonly #byId = new Map<number, Receipt>();

  /**
   * A QoS 2 PUBLISH with packet id `id`; `pubrec` answers it on the connection it came on.
   * Returns the receiver's `done` for a new message, undefined for one sent again (not to be handed on).
   */
  take(id: number, pubrec: () => boolean): (() => void) | undefined {
    const known = this.#byId.get(id);
    if (known !== undefined) {
      known.pubrec = pubrec;
      if (known.done) known.pubrec();
      return undefined;
    }
    const r: Receipt = { pubrec, done: false };
    this.#byId.set(id, r);
    return () => {
      if (r.done) return;
      r.done = true;
      // Forgotten meanwhile (the broker dropped the session): it expects no PUBREC for it.
      if (this.#byId.get(id) === r) r.pubrec();
    };
  }

  /** PUBREL: the broker let go of the id; a PUBLISH with it from now on is a new message. */
  released(id: number): void {
    this.#byId.delete(id);
  }

  /** The broker kept no session (CONNACK session present 0): it sends none of these again, nor releases them. */
  forgetAll(): void {
    this.#byId.clear();
  }

  get size(): number {
    return this.#byId.size;
  }
}

/**
 * Each device's IncomingQos2 across its links (transparent mode opens a new one when the device
 * reconnects, comes back after it was lost, or changes its will). The gateway keeps the session
 * (clean session false) and its queue of the device's messages, not yet done, while the device is
 * away; the broker sends the same messages again on the device's next connection. Kept from one
 * link to the next, the table tells them apart: each reaches the device once, and the copy the
 * gateway held answers the broker on the new connection.
 *
 * A device's table is kept while it has a link, and after that only while it holds ids; at most
 * `maxIdle` such devices, the longest gone dropped first (one of theirs that comes back may then
 * be handed a message twice, never lose one).
 */
export class IncomingQos2ByClient {
  readonly #byClient = new Map<string, IncomingQos2>();
  readonly #linked = new Set<string>();

  constructor(readonly maxIdle: number) {}

  /** The table of a device whose link opens. */
  open(clientId: string): IncomingQos2 {
    this.#linked.add(clientId);
    let t = this.#byClient.get(clientId);
    if (t === undefined) this.#byClient.set(clientId, (t = new IncomingQos2()));
    return t;
  }

  /** The device's link ended (`stillLinked`: a newer link of the device stands). */
  ended(clientId: string, stillLinked: boolean): void {
    if (stillLinked) return;
    this.#linked.delete(clientId);
    const t = this.#byClient.get(clientId);
    if (t === undefined) return;
    // Moved to the end: the order of the map is the order devices went away in.
    this.#byClient.delete(clientId);
    if (t.size > 0) this.#byClient.set(clientId, t);
    let idle = this.#byClient.size - this.#linked.size;
    for (const id of this.#byClient.keys()) {
      if (idle <= this.maxIdle) break;
      if (this.#linked.has(id)) continue;
      this.#byClient.delete(id);
      idle--;
    }
  }

  /** Devices with a table (for tests and status). */
  get size(): number {
    return this.#byClient.size;
  }
}
