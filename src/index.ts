/**
 * Public API: `createGateway(config)` puts the parts together (broker core, gateway core,
 * transports); the config API validates what it takes. Composition only; every rule lives in its
 * layer.
 */
export { createGateway, type GatewayDependencies, type RunningGateway } from './create-gateway.js';
export { Gateway } from './gateway/gateway.js';
export type { GatewayOptions } from './gateway/types.js';
// From the leaf modules, not bridge/index.js: that one pulls in MQTT.js.
export { BRIDGE_ORIGIN, type Bridge, type BridgeStatus, type UpstreamState } from './bridge/types.js';
export { BridgeError, BridgeErrorCode } from './bridge/errors.js';
export { loadConfig, parseConfig, defaultConfig, ConfigError, type GatewayConfig } from './config/index.js';
export * from './codec/index.js';
