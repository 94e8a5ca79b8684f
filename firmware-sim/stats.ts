/**
 * Run statistics shared by every node of a run: counters per request kind, latency histograms,
 * deliveries and end-to-end tracking. Fixed memory per kind whatever the number of messages,
 * so a long load run does not grow (only end-to-end tracking keeps per-message keys).
 */
import type { DecodeError } from '../src/codec/index.js';
import type { Event, ProtocolVersion } from './wire/types.js';
import type { NodeObserver, RequestKind, SimMessage } from './node.js';

/**
 * Log-linear latency histogram in milliseconds: 0.01 ms steps below 1 ms, then 1 % steps up to
 * about 20 minutes; a percentile is off by at most 1 %. 1,500 counters, whatever the count.
 */
export class Histogram {
  static readonly #LINEAR = 100;
  static readonly #GROWTH = Math.log(1.01);
  readonly #counts = new Uint32Array(Histogram.#LINEAR + 1400);
  count = 0;
  sum = 0;
  max = 0;
  min = Infinity;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const i = v < 1 ? Math.floor(v * Histogram.#LINEAR) : Histogram.#LINEAR + Math.floor(Math.log(v) / Histogram.#GROWTH);
    this.#counts[Math.min(i, this.#counts.length - 1)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** The value below which `q` (0..1) of the samples fall; the bucket's upper edge, capped at the max seen. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const upper = i < Histogram.#LINEAR ? (i + 1) / Histogram.#LINEAR : Math.exp((i - Histogram.#LINEAR + 1) * Histogram.#GROWTH);
        return Math.min(Math.max(upper, this.min), this.max);
      }
    }
    return this.max;
  }
}

export interface KindCounters {
  sent: number;
  /** publishes that never left (no connection, registration failed) */
  refused: number;
  done: number;
  failed: number;
  retransmitted: number;
  latency: Histogram;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface PublishCounters {
  sent: number;
  /** QoS 1 / 2: PUBACK or PUBCOMP with 0x00 */
  acknowledged: number;
  /** QoS 1 / 2: sent but timed out, rejected, or cut off by a lost gateway */
  lost: number;
  /** never sent: no connection, or the topic could not be registered */
  refused: number;
}

/** The structured end-of-run report (the CLI prints it; benchmarks read it). */
export interface SimReport {
  elapsedMs: number;
  nodes: { total: number; connected: number; failed: number };
  /** the run's nodes (observers not counted) by the MQTT-SN version they spoke, and how many of them connected */
  protocols: Partial<Record<ProtocolVersion, { nodes: number; connected: number }>>;
  /** publishes of every QoS that left a node */
  sent: number;
  /** QoS 1 / 2 publishes the gateway acknowledged */
  acknowledged: number;
  /** PUBLISHes delivered to nodes' applications */
  received: number;
  /**
   * QoS 1 / 2 publishes never acknowledged (sent and failed, or refused), plus, when an observer
   * followed them end to end (`lossMeasured` 'end-to-end'), acknowledged ones it never got
   */
  lost: number;
  /**
   * What `lost` could see: 'end-to-end' when a subscriber of the run matched every QoS 1/2
   * publish to its delivery; 'acknowledgements' when nothing watched delivery (`observerNote` says
   * why), so only publishes the gateway never acknowledged are known lost.
   */
  lossMeasured: 'end-to-end' | 'acknowledgements';
  /** why the run did not observe delivery (acknowledgements only) */
  observerNote?: string;
  /** deliveries seen twice: QoS 2 repeats the node suppressed plus end-to-end repeats (QoS 1 may repeat) */
  duplicates: number;
  retransmissions: number;
  publish: Record<'-1' | '0' | '1' | '2', PublishCounters>;
  /** present when a subscriber tracked what publishers sent */
  endToEnd?: { expected: number; delivered: number; lost: number; duplicates: number };
  /** failures by error code */
  errors: Record<string, number>;
  /** invalid frames and packets no request was waiting for */
  unexpected: number;
  /** other counters (what misbehaving nodes sent) */
  counters: Record<string, number>;
  /** round trip per request kind (publish1: PUBLISH->PUBACK, publish2: PUBLISH->PUBCOMP, e2e: publish->delivery) */
  latency: Record<string, LatencySummary>;
}

const QOS_KIND: Record<string, '-1' | '0' | '1' | '2'> = { 'publish-1': '-1', publish0: '0', publish1: '1', publish2: '2' };

/** The observer every node of a run shares. */
export class RunStats implements NodeObserver {
  readonly kinds = new Map<RequestKind | 'e2e', KindCounters>();
  readonly errors = new Map<string, number>();
  readonly extra = new Map<string, number>();
  receivedCount = 0;
  duplicates = 0;
  unexpectedCount = 0;
  nodesTotal = 0;
  nodesConnected = 0;
  nodesFailed = 0;
  /** nodes and connected nodes by version, kept by the run */
  readonly protocols: Partial<Record<ProtocolVersion, { nodes: number; connected: number }>> = {};
  readonly #started: number;
  readonly #now: () => number;
  /** end-to-end: key -> time sent, until delivered */
  readonly #inTransit = new Map<string, number>();
  readonly #delivered = new Set<string>();
  #e2eExpected = 0;
  #e2eDuplicates = 0;
  #e2eOn = false;
  #observerNote: string | undefined;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#started = now();
  }

  kind(k: RequestKind | 'e2e'): KindCounters {
    let c = this.kinds.get(k);
    if (!c) {
      c = { sent: 0, refused: 0, done: 0, failed: 0, retransmitted: 0, latency: new Histogram() };
      this.kinds.set(k, c);
    }
    return c;
  }

  sent(kind: RequestKind): void {
    this.kind(kind).sent++;
  }

  done(kind: RequestKind, ms: number): void {
    const c = this.kind(kind);
    c.done++;
    c.latency.record(ms);
  }

  failed(kind: RequestKind, code: string): void {
    this.kind(kind).failed++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  retransmitted(kind: RequestKind): void {
    this.kind(kind).retransmitted++;
  }

  received(_msg: SimMessage): void {
    this.receivedCount++;
  }

  duplicate(_msg: SimMessage): void {
    this.duplicates++;
  }

  unexpected(_what: Event | DecodeError): void {
    this.unexpectedCount++;
  }

  refused(kind: RequestKind, code: string): void {
    this.kind(kind).refused++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Counts something that is not a request (a misbehaving node's garbage, by what it sent). */
  count(what: string, n = 1): void {
    this.extra.set(what, (this.extra.get(what) ?? 0) + n);
  }

  // ---- end-to-end: publishers register what they sent, a subscriber reports what it got

  /**
   * From now on publishes are followed to a subscriber. Without it nothing is known end to end,
   * so nothing is counted lost end to end: only what the gateway never acknowledged.
   */
  observeEndToEnd(): void {
    this.#e2eOn = true;
    this.#observerNote = undefined;
  }

  /** Why delivery is not observed in this run (shown in the report). */
  notObserved(why: string): void {
    this.#observerNote = why;
  }

  get observing(): boolean {
    return this.#e2eOn;
  }

  /** `key` identifies one message across nodes (e.g. `topic#seq`); only QoS 1 / 2 are expected to arrive. */
  published(key: string, expectDelivery: boolean): void {
    if (!this.#e2eOn || !expectDelivery) return;
    this.#e2eExpected++;
    this.#inTransit.set(key, this.#now());
  }

  /** A publish whose sender gave up: it is no longer expected at the subscriber. */
  abandoned(key: string): void {
    if (this.#inTransit.delete(key)) this.#e2eExpected--;
  }

  delivered(key: string): void {
    const at = this.#inTransit.get(key);
    if (at !== undefined) {
      this.#inTransit.delete(key);
      this.#delivered.add(key);
      this.kind('e2e').latency.record(this.#now() - at);
      this.kind('e2e').done++;
    } else if (this.#delivered.has(key)) {
      this.#e2eDuplicates++;
    }
  }

  /** messages still expected at the subscriber */
  get inTransit(): number {
    return this.#inTransit.size;
  }

  report(): SimReport {
    const publish = {} as Record<'-1' | '0' | '1' | '2', PublishCounters>;
    for (const q of ['-1', '0', '1', '2'] as const) publish[q] = { sent: 0, acknowledged: 0, lost: 0, refused: 0 };
    let retransmissions = 0;
    const latency: Record<string, LatencySummary> = {};
    for (const [k, c] of this.kinds) {
      retransmissions += c.retransmitted;
      const q = QOS_KIND[k];
      if (q !== undefined) {
        publish[q].sent += c.sent;
        publish[q].refused += c.refused;
        if (q === '1' || q === '2') {
          publish[q].acknowledged += c.done;
          publish[q].lost += c.failed + c.refused;
        }
      }
      if (c.latency.count > 0) {
        const h = c.latency;
        latency[k] = { count: h.count, p50: round(h.quantile(0.5)), p99: round(h.quantile(0.99)), max: round(h.max), mean: round(h.sum / h.count) };
      }
    }
    const sent = publish['-1'].sent + publish['0'].sent + publish['1'].sent + publish['2'].sent;
    const acknowledged = publish['1'].acknowledged + publish['2'].acknowledged;
    let lost = publish['1'].lost + publish['2'].lost;
    const report: SimReport = {
      elapsedMs: Math.round(this.#now() - this.#started),
      nodes: { total: this.nodesTotal, connected: this.nodesConnected, failed: this.nodesFailed },
      protocols: structuredClone(this.protocols),
      sent,
      acknowledged,
      received: this.receivedCount,
      lost,
      lossMeasured: this.#e2eOn ? 'end-to-end' : 'acknowledgements',
      ...(this.#e2eOn || this.#observerNote === undefined ? {} : { observerNote: this.#observerNote }),
      duplicates: this.duplicates + this.#e2eDuplicates,
      retransmissions,
      publish,
      errors: Object.fromEntries(this.errors),
      unexpected: this.unexpectedCount,
      counters: Object.fromEntries(this.extra),
      latency,
    };
    if (this.#e2eOn) {
      const e2eLost = this.#inTransit.size;
      lost += e2eLost;
      report.lost = lost;
      report.endToEnd = { expected: this.#e2eExpected, delivered: this.#delivered.size, lost: e2eLost, duplicates: this.#e2eDuplicates };
    }
    return report;
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;
