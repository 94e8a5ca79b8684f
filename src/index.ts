/**
 * Public API: `createGateway(config)` puts the parts together (broker core, gateway core,
 * transports). Composition only; every rule lives in its layer.
 */
import { createLocalBroker } from './broker/local-broker.js';
import type { BrokerCore } from './broker/types.js';
import { systemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config/index.js';
import { MqttSnError } from './errors.js';
import { Gateway } from './gateway/gateway.js';
import { childLogger, noopLogger, type Logger } from './logger.js';
import { createTransport } from './transport/index.js';
import type { Transport } from './transport/types.js';

export interface GatewayDependencies {
  logger?: Logger;
  clock?: Clock;
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly broker: BrokerCore;
  readonly transports: readonly Transport[];
  /** Stops taking frames, closes transports, then the broker core. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a gateway from a validated config. When any part cannot start (a port in use, say),
 * what was already started is closed again and the error names the part.
 */
export async function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const logger = deps.logger ?? noopLogger;
  const clock = deps.clock ?? systemClock;
  const broker = await createLocalBroker({ listen: config.broker.listen, logger: childLogger(logger, { part: 'broker' }) });
  const gateway = new Gateway({ options: config, broker, clock, logger: childLogger(logger, { part: 'gateway' }) });
  const transports: Transport[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await gateway.stop();
    await Promise.allSettled(transports.map((t) => t.close()));
    await broker.close();
  };
  try {
    for (const entry of config.transports) {
      const t = createTransport(entry, { logger: childLogger(logger, { part: 'transport' }) });
      transports.push(t);
      gateway.attach(t);
      await t.open();
      logger.info({ transport: t.name }, 'transport open');
    }
    await gateway.start();
  } catch (err) {
    await close();
    if (err instanceof MqttSnError) throw err;
    throw new MqttSnError('MQTTSN_ERR_START', `gateway could not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { gateway, broker, transports, close };
}

export { Gateway } from './gateway/gateway.js';
export type { GatewayOptions } from './gateway/types.js';
export { loadConfig, parseConfig, defaultConfig, ConfigError, type GatewayConfig } from './config/index.js';
export * from './codec/index.js';
