/**
 * The bridge between the broker core and the upstream broker. `createBridge` picks the mode's
 * implementation; the pieces below it (topic rules, backoff, the MQTT.js connection, the outbound
 * queue) are shared, so transparent mode (one connection per MQTT-SN client) reuses them.
 */
import type { BrokerCore } from '../broker/types.js';
import { systemClock, type Clock } from '../clock.js';
import type { UpstreamSecrets } from '../config/secrets.js';
import type { UpstreamConfig } from '../config/upstream.js';
import { noopLogger, type Logger } from '../logger.js';
import { MemoryOutboundQueue } from '../store/memory-queue.js';
import type { OutboundQueue } from '../store/types.js';
import { AggregatingBridge } from './aggregating.js';
import { TransparentBridge } from './transparent.js';
import { mqttOptionsFromConfig } from './connect-options.js';
import { mqttConnector } from './mqtt-upstream.js';
import type { Bridge } from './types.js';
import type { UpstreamConnector } from './upstream.js';

export interface BridgeDependencies {
  broker: BrokerCore;
  clock?: Clock;
  logger?: Logger;
  /** the section's passwords, keys and certificates, as `resolveUpstreamSecrets` (config) reads them */
  secrets: UpstreamSecrets;
  /** the outbound queue; default a memory queue with the configured limits. A given queue is not closed by the bridge. */
  queue?: OutboundQueue;
  /** replaces MQTT.js (tests drive the bridge with a scripted connection) */
  connector?: UpstreamConnector;
  /** [0, 1) for the reconnect jitter; default Math.random */
  random?: () => number;
}

/**
 * A bridge for the `upstream` section, not started yet (`start()` subscribes and connects).
 */
export function createBridge(config: UpstreamConfig, deps: BridgeDependencies): Bridge {
  switch (config.mode) {
    case 'aggregating': {
      const connector = deps.connector ?? mqttConnector(mqttOptionsFromConfig(config, deps.secrets));
      return new AggregatingBridge({
        config,
        broker: deps.broker,
        connector,
        queue: deps.queue ?? new MemoryOutboundQueue(config.queue),
        ownsQueue: deps.queue === undefined,
        clock: deps.clock ?? systemClock,
        logger: deps.logger ?? noopLogger,
        random: deps.random,
      });
    }
    case 'transparent': {
      const base = mqttOptionsFromConfig(config, deps.secrets);
      const connector = deps.connector;
      return new TransparentBridge({
        config,
        base,
        connectorFor: connector === undefined ? mqttConnector : () => connector,
        clients: deps.secrets.clients,
        clock: deps.clock ?? systemClock,
        logger: deps.logger ?? noopLogger,
        random: deps.random,
      });
    }
  }
}

export { AggregatingBridge, type AggregatingBridgeDeps } from './aggregating.js';
export { TransparentBridge, type TransparentBridgeDeps } from './transparent.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { mqttOptionsFromConfig } from './connect-options.js';
export { EchoFilter, type EchoFilterOptions } from './echo.js';
export { BridgeError, BridgeErrorCode, classifyUpstreamError } from './errors.js';
export { mqttConnector, type MqttUpstreamOptions } from './mqtt-upstream.js';
export { TopicRules, type Route } from './rules.js';
export { BRIDGE_ORIGIN, type Bridge, type BridgeCounters, type BridgeStatus, type UpstreamState } from './types.js';
export type { UpstreamConnection, UpstreamConnector, UpstreamHandlers, Message } from './upstream.js';
