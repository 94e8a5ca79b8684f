/** Storage: interfaces and their implementations. */
export { sizeOf, type Message, type OutboundQueue, type OutboundQueueLimits, type PushResult, type QueuedMessage } from './types.js';
export { MemoryOutboundQueue } from './memory-queue.js';
export type { PersistedDelivery, PersistedSession, PersistedState, PersistedSubscription, PersistedV2, Will, RetainedMessage, SessionStore, StoredState } from './session-store.js';
export { MemorySessionStore } from './memory-session-store.js';
export { SqliteStore } from './sqlite-store.js';
export { SqliteOutboundQueue } from './sqlite-queue.js';
export { SqliteBrokerPersistence } from './sqlite-broker-persistence.js';
export { SqliteFile, type SqliteFileOptions, type SqliteFileStats } from './sqlite-file.js';
export { openStore, type GatewayStore, type StoreSpec } from './open-store.js';
export { StoreError, StoreErrorCode } from './errors.js';
