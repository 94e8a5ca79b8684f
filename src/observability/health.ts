/**
 * Readiness: the gateway is ready when every transport is open (a serial dongle that is
 * unplugged makes it not ready, though it keeps running and retrying) and, with a bridge, the
 * upstream is connected or still queueing within its limit. A gateway that is shutting down is
 * never ready, so a supervisor or load balancer stops sending it work first.
 */
import type { Transport, TransportState } from '../transport/types.js';
import { upstreamProblem, type UpstreamStatus, type UpstreamStatusProvider } from './upstream.js';

export interface HealthReport {
  ready: boolean;
  /** `ready`, `not ready`, or `stopping` */
  status: 'ready' | 'not ready' | 'stopping';
  /** why it is not ready, one sentence each; empty when ready */
  reasons: string[];
  transports: Array<{ name: string; state: TransportState }>;
  upstream?: UpstreamStatus;
}

export interface HealthSources {
  transports: readonly Transport[];
  upstream?: UpstreamStatusProvider | undefined;
  /** true from the moment a stop was asked for */
  stopping: () => boolean;
  /** whether the store can make writes durable: a gone, full or failing store acknowledges nothing */
  store?: (() => { ok: boolean; problem?: string | undefined }) | undefined;
}

export function checkHealth(sources: HealthSources): HealthReport {
  const reasons: string[] = [];
  const transports = sources.transports.map((t) => ({ name: t.name, state: t.state }));
  for (const t of transports) {
    if (t.state !== 'open') reasons.push(`transport ${t.name} is ${t.state}`);
  }
  if (transports.length === 0) reasons.push('no transport is attached');
  const store = sources.store?.();
  if (store !== undefined && !store.ok) reasons.push(`the store cannot keep messages, so QoS 1/2 publishes get PUBACK 0x01: ${store.problem ?? 'failing'}`);
  let upstream: UpstreamStatus | undefined;
  if (sources.upstream !== undefined) {
    upstream = sources.upstream();
    const problem = upstreamProblem(upstream);
    if (problem !== undefined) reasons.push(problem);
  }
  const stopping = sources.stopping();
  if (stopping) reasons.unshift('the gateway is shutting down');
  const report: HealthReport = {
    ready: reasons.length === 0,
    status: stopping ? 'stopping' : reasons.length === 0 ? 'ready' : 'not ready',
    reasons,
    transports,
  };
  if (upstream !== undefined) report.upstream = upstream;
  return report;
}
