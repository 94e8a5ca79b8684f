/**
 * The node's keep-alive (MQTT-SN.md §4.11): a PINGREQ when nothing was sent for a whole
 * keep-alive period. One timer per node, re-armed lazily: a send does not touch it, the timer
 * compares with the time of the last send when it fires (a busy node never pings, an idle one
 * pings once per period).
 */
import type { Clock, TimerHandle } from '../src/clock.js';

export interface KeepAliveHost {
  readonly clock: Clock;
  /** clock time of the node's last send */
  lastSent(): number;
  /** whether pings are due at all (the node is active) */
  active(): boolean;
  /** whether a ping is already queued or on the wire */
  pinging(): boolean;
  ping(): Promise<unknown>;
}

export class KeepAlive {
  readonly #host: KeepAliveHost;
  /** 0 disables the pings */
  periodMs = 0;
  #timer: TimerHandle | undefined;

  constructor(host: KeepAliveHost) {
    this.#host = host;
  }

  arm(): void {
    this.stop();
    const h = this.#host;
    if (this.periodMs <= 0 || !h.active()) return;
    const due = h.lastSent() + this.periodMs - h.clock.now();
    this.#timer = h.clock.setTimeout(() => this.#fired(), Math.max(0, due));
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #fired(): void {
    this.#timer = undefined;
    const h = this.#host;
    if (!h.active()) return;
    if (h.clock.now() - h.lastSent() >= this.periodMs && !h.pinging()) {
      // A failed ping has already declared the gateway lost; nothing more to do here.
      h.ping().then(
        () => this.arm(),
        () => {},
      );
      return;
    }
    this.arm();
  }
}
