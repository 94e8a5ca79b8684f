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
