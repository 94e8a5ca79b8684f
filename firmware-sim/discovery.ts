/**
 * Finding a gateway (MQTT-SN.md §4.2): SEARCHGW broadcast at growing intervals until a GWINFO or
 * an ADVERTISE answers, then the link is pointed at its sender.
 */
import type { Clock } from '../src/clock.js';
import { SimError, SimErrorCode } from './errors.js';
import type { Link } from './link.js';
import type { DiscoveryOptions } from './node-types.js';
import type { Requests } from './requests.js';

export const DISCOVERY_DEFAULTS: Readonly<Required<DiscoveryOptions>> = { radius: 0, timeoutMs: 30_000, jitterMs: 0, repeatMs: 1000 };

export interface FoundGateway {
  gwId: number;
  from: string | undefined;
}

export class Discovery {
  readonly #link: Link;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #requests: Requests;
  #heardSearch = false;

  constructor(o: { link: Link; clock: Clock; random: () => number; requests: Requests }) {
    this.#link = o.link;
    this.#clock = o.clock;
    this.#random = o.random;
    this.#requests = o.requests;
  }

  /** §4.2: another client's SEARCHGW, as good as our own if ours is still waiting. */
  heardSearch(): void {
    this.#heardSearch = true;
  }

  async search(o: Required<DiscoveryOptions>): Promise<FoundGateway> {
    if (!this.#link.broadcast) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'this link cannot broadcast SEARCHGW; give the gateway address instead');
    if (o.jitterMs > 0) {
      // §4.2: a random wait first; a SEARCHGW heard meanwhile is as good as our own.
      this.#heardSearch = false;
      await new Promise<void>((res) => this.#clock.setTimeout(res, this.#random() * o.jitterMs));
    }
    let from: string | undefined;
    const deadline = this.#clock.now() + o.timeoutMs;
    const { packet: reply } = await this.#requests
      .exchange({
        kind: 'search',
        packet: { type: 'SEARCHGW', radius: o.radius },
        broadcast: o.radius,
        skipFirstSend: this.#heardSearch,
        // Exponential repeats (§4.2) until the search time is used up.
        delay: (n) => Math.max(1, Math.min(o.repeatMs * 2 ** n, deadline - this.#clock.now())),
        maxRetries: Math.max(0, Math.ceil(Math.log2(o.timeoutMs / o.repeatMs + 1)) - 1),
        losesGateway: false,
        accept: ({ packet: p, from: src }) => {
          if (p.type !== 'GWINFO' && p.type !== 'ADVERTISE') return false;
          from = src;
          return true;
        },
      })
      .catch((err: unknown) => {
        if (err instanceof SimError && err.code === SimErrorCode.TIMEOUT) throw new SimError(SimErrorCode.NO_GATEWAY, `no GWINFO within ${o.timeoutMs} ms`);
        throw err;
      });
    const gwId = reply.type === 'GWINFO' || reply.type === 'ADVERTISE' ? reply.gwId : 0;
    if (from !== undefined) this.#link.useGateway?.(from);
    return { gwId, from };
  }
}
