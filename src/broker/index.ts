/** The local broker core: the interface the other layers use, and its aedes implementation. */
export { MQTT_LISTENER_ORIGIN, type BrokerCore, type BrokerHandler, type BrokerMessage } from './types.js';
export { createLocalBroker, DEFAULT_LISTENER_LIMITS, type BrokerLogger, type BrokerPersistence, type ListenerLimits, type ListenerLimitStats, type LocalBrokerCore, type LocalBrokerOptions } from './local-broker.js';
export { BrokerError, BrokerErrorCode } from './errors.js';
export { ListenerGuard, type ListenerAcl, type ListenerAuthOptions, type ListenerAuthStats } from './listener-auth.js';
export { hashPassword, parsePasswordFile, PasswordTable, type ScryptHash } from './passwords.js';
