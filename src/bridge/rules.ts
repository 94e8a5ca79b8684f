/**
 * Topic rules as a mosquitto bridge has them: a pattern, a direction, a QoS ceiling and two
 * prefixes. On the gateway side a rule covers the filter `localPrefix + pattern`, upstream
 * `remotePrefix + pattern`; a topic crosses by trading one prefix for the other. The first rule
 * (in config order) that matches a message decides, so a message crosses at most once.
 */
import type { RuleDirection, UpstreamTopicRule } from '../config/upstream.js';
import { topicMatchesFilter } from '../topics/topic-names.js';

type QoS = 0 | 1 | 2;

export interface Route {
  /** the topic on the other side */
  readonly topic: string;
  /** min(message QoS, rule QoS) */
  readonly qos: QoS;
  /** index of the rule in the config */
  readonly rule: number;
}

interface Side {
  prefix: string;
  /** prefix + pattern */
  filter: string;
}

interface CompiledRule {
  index: number;
  direction: RuleDirection;
  qos: QoS;
  local: Side;
  remote: Side;
}

/**
 * Local filters starting with '$' need a subscription of their own: the catch-all '#' does not
 * see those topics ([MQTT-4.7.2-1]).
 */
export const CATCH_ALL = '#';

export class TopicRules {
  readonly #out: CompiledRule[];
  readonly #in: CompiledRule[];

  constructor(rules: readonly UpstreamTopicRule[]) {
    const compiled = rules.map(
      (r, index): CompiledRule => ({
        index,
        direction: r.direction,
        qos: r.qos as QoS,
        local: { prefix: r.localPrefix, filter: r.localPrefix + r.pattern },
        remote: { prefix: r.remotePrefix, filter: r.remotePrefix + r.pattern },
      }),
    );
    this.#out = compiled.filter((r) => r.direction !== 'in');
    this.#in = compiled.filter((r) => r.direction !== 'out');
  }

  /** Where a message of the gateway goes upstream, if any rule sends it. */
  outbound(localTopic: string, qos: QoS): Route | undefined {
    const r = firstMatch(this.#out, localTopic, 'local');
    return r === undefined ? undefined : { topic: r.remote.prefix + localTopic.slice(r.local.prefix.length), qos: Math.min(qos, r.qos) as QoS, rule: r.index };
  }

  /** Where a message from upstream goes in the gateway, if any rule brings it in. */
  inbound(remoteTopic: string, qos: QoS): Route | undefined {
    const r = firstMatch(this.#in, remoteTopic, 'remote');
    return r === undefined ? undefined : { topic: r.local.prefix + remoteTopic.slice(r.remote.prefix.length), qos: Math.min(qos, r.qos) as QoS, rule: r.index };
  }

  /** Whether an upstream topic is one the bridge subscribes to: what it sends there may come back. */
  subscribedUpstream(remoteTopic: string): boolean {
    return firstMatch(this.#in, remoteTopic, 'remote') !== undefined;
  }

  /**
   * What to subscribe to upstream: each inbound filter once, at the highest QoS of the rules that
   * share it.
   */
  remoteSubscriptions(): Array<{ filter: string; qos: QoS }> {
    const byFilter = new Map<string, QoS>();
    for (const r of this.#in) byFilter.set(r.remote.filter, Math.max(byFilter.get(r.remote.filter) ?? 0, r.qos) as QoS);
    return [...byFilter].map(([filter, qos]) => ({ filter, qos }));
  }

  /**
   * What to subscribe to in the local broker core: the catch-all '#' (filtered by the rules), plus
   * each outbound filter starting with '$', which '#' does not see.
   */
  localSubscriptions(): string[] {
    const out = new Set<string>();
    for (const r of this.#out) out.add(subscriptionOf(r));
    return [...out];
  }

  /**
   * Whether the local subscription `filter` is the one that carries `route`: with several local
   * subscriptions a message may arrive on more than one, and must cross once.
   */
  carries(filter: string, route: Route): boolean {
    const r = this.#out.find((x) => x.index === route.rule);
    return r !== undefined && subscriptionOf(r) === filter;
  }

  get hasOutbound(): boolean {
    return this.#out.length > 0;
  }

  get hasInbound(): boolean {
    return this.#in.length > 0;
  }
}

function subscriptionOf(r: CompiledRule): string {
  return r.local.filter.startsWith('$') ? r.local.filter : CATCH_ALL;
}

function firstMatch(rules: readonly CompiledRule[], topic: string, side: 'local' | 'remote'): CompiledRule | undefined {
  for (const r of rules) {
    const s = r[side];
    // The whole filter decides (so '$' topics follow [MQTT-4.7.2-1] as on the wire); the prefix
    // must also be there literally: `a/#` matches `a`, which has no `a/` to trade.
    if (topic.startsWith(s.prefix) && topicMatchesFilter(s.filter, topic)) return r;
  }
  return undefined;
}
