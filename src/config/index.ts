/** The config layer: `gateway.config.json` validated into a fully defaulted `GatewayConfig`. */
export { ConfigError, ConfigErrorCode, ConfigIssueCode, formatIssues, type ConfigIssue } from './errors.js';
export { defaultConfig, loadConfig, maskSecrets, parseConfig, parseConfigText } from './load.js';
export { configJsonSchema } from './json-schema.js';
export { checkEnvironment, type Environment } from './env.js';
export { configWarnings, type ConfigWarning } from './warnings.js';
export { resolveUpstreamSecrets, type ClientCredentials, type UpstreamSecrets, type UpstreamTlsSecrets } from './secrets.js';
export {
  upstreamSchema,
  checkUpstreamFiles,
  resolveUpstreamFiles,
  RULE_DIRECTIONS,
  UPSTREAM_MODES,
  type RuleDirection,
  type UpstreamConfig,
  type UpstreamMode,
  type UpstreamTlsConfig,
  type UpstreamTopicRule,
} from './upstream.js';
export { writeConfigSchema, CONFIG_SCHEMA_PATH } from './write-schema.js';
export { httpConfigSchema, DEFAULT_HTTP_PORT, type HttpConfig } from './http.js';
export { shutdownConfigSchema, DEFAULT_SHUTDOWN_GRACE_MS, type ShutdownConfig } from './operate.js';
export { storeSchema, resolveStoreConfig, DEFAULT_STORE_PATH, STORE_TYPES, type StoreConfig, type StoreType } from './store.js';
export {
  gatewayConfigSchema,
  DEFAULT_MAX_FRAME_SIZE,
  LOG_LEVELS,
  SERIAL_FRAMINGS,
  type BrokerConfig,
  type GatewayConfig,
  type GatewayConfigInput,
  type LimitsConfig,
  type LogLevel,
  type SerialFraming,
  type SerialTransportConfig,
  type TimersConfig,
  type TransportConfig,
  type UdpTransportConfig,
} from './schema.js';
export { authSchema, rateLimitsSchema, type AuthConfig, type RateLimitsConfig } from './auth.js';
export { listenerAuthSchema, readPasswordFile, type ListenerAuthConfig } from './listener-auth.js';
