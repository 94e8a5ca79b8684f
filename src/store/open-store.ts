/**
 * The store a running gateway uses, from the `store` section: one factory so that the gateway's
 * session store and the bridge's outbound queue always come from the same place (and, on SQLite,
 * the same file and the same batches).
 */
import type { Logger } from '../logger.js';
import { SqliteBrokerPersistence } from './sqlite-broker-persistence.js';
import { MemoryOutboundQueue } from './memory-queue.js';
import type { SessionStore } from './session-store.js';
import type { StoreHealth, WatchClock } from './sqlite-file.js';
import { SqliteStore } from './sqlite-store.js';
import type { OutboundQueue, OutboundQueueLimits } from './types.js';

export type StoreSpec = { type: 'memory' } | { type: 'sqlite'; path: string };

export interface GatewayStore {
  readonly type: StoreSpec['type'];
  /**
   * What the gateway core keeps sessions in; `undefined` for the memory store, which would keep
   * nothing a restart can use, so the core does not spend a write on it.
   */
  readonly sessions: SessionStore | undefined;
  /**
   * Where the local broker core keeps its listener clients' sessions, in the same file and batches
   * as the rest (so one `flush()` covers them); `undefined` for the memory store: the broker
   * core's own memory persistence. One per store.
   */
  readonly brokerPersistence: SqliteBrokerPersistence | undefined;
  /** An outbound queue for the bridge (`name` tells several apart in one file). The store, not the bridge, closes it. */
  outboundQueue(limits: OutboundQueueLimits, name?: string): OutboundQueue;
  /** Whether writes can be made durable now, and why not (gone, full, failing): /healthz reads it. */
  health(): StoreHealth;
  /** Commits what is pending and closes. Close it after everything that writes to it. */
  close(): Promise<void>;
}

/**
 * Opens the configured store. For SQLite the path is used as given (the config layer makes it
 * absolute against the config file's folder).
 * @throws StoreError when the SQLite file cannot be used: see `SqliteStore.open`
 */
export function openStore(spec: StoreSpec, deps: { logger?: Logger; clock?: WatchClock } = {}): GatewayStore {
  switch (spec.type) {
    case 'memory': {
      const queues: OutboundQueue[] = [];
      return {
        type: 'memory',
        sessions: undefined,
        brokerPersistence: undefined,
        outboundQueue(limits) {
          const q = new MemoryOutboundQueue(limits);
          queues.push(q);
          return q;
        },
        health: () => ({ ok: true }),
        async close() {
          await Promise.all(queues.splice(0).map((q) => q.close()));
        },
      };
    }
    case 'sqlite': {
      const store = SqliteStore.open(spec.path, { logger: deps.logger, clock: deps.clock });
      const queues: OutboundQueue[] = [];
      return {
        type: 'sqlite',
        sessions: store,
        brokerPersistence: new SqliteBrokerPersistence(store.file),
        outboundQueue(limits, name) {
          const q = store.outboundQueue(limits, name);
          queues.push(q);
          return q;
        },
        health: () => store.health(),
        async close() {
          await Promise.allSettled(queues.splice(0).map((q) => q.close()));
          await store.close();
        },
      };
    }
  }
}
