/** A node's options with their defaults filled in: what SimNode's constructor starts from. */
import { DISCOVERY_DEFAULTS } from './discovery.js';
import type { DiscoveryOptions, ReconnectOptions, SimNodeOptions } from './node-types.js';

export interface ResolvedNodeOptions {
  /** predefined topic ids, however they were given */
  predefined: ReadonlyMap<number, string>;
  /** undefined: the gateway's address is given, no discovery */
  discovery: Required<DiscoveryOptions> | undefined;
  /** undefined: a lost gateway stays lost */
  reconnect: Required<ReconnectOptions> | undefined;
}

export function resolveNodeOptions(o: SimNodeOptions): ResolvedNodeOptions {
  const pre: ReadonlyMap<number, string> | Record<number, string> = o.predefinedTopics ?? {};
  const d = o.discover;
  const r = o.reconnect ?? true;
  return {
    predefined: pre instanceof Map ? pre : new Map(Object.entries(pre).map(([k, v]: [string, string]): [number, string] => [Number(k), v])),
    discovery: d ? { ...DISCOVERY_DEFAULTS, ...(d === true ? {} : d) } : undefined,
    reconnect: r ? { initialDelayMs: 1000, maxDelayMs: 30_000, ...(r === true ? {} : r) } : undefined,
  };
}
