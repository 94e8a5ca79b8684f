/**
 * The `store` section: where the gateway keeps what must survive a restart (kept sessions, queued
 * QoS 1/2 messages, QoS 2 state, the upstream queue, retained messages).
 *
 * The default is SQLite in a file next to the config file, so `npm start` on the repository's
 * config is durable with nothing to set up. A config built in code (`parseConfig` without a base
 * folder) has no file to sit next to: there the default is memory, and a program that wants a file
 * says `store` itself. The schema cannot know which case it is in; `resolveStoreConfig` settles it
 * after the schema, as `resolveUpstreamFiles` does for TLS files.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

export const STORE_TYPES = ['sqlite', 'memory'] as const;
export type StoreType = (typeof STORE_TYPES)[number];

/** Next to the config file; the repository's .gitignore ignores `*.db` and its WAL. */
export const DEFAULT_STORE_PATH = './mqttsn-gateway.db';

export const storeSchema = z
  .strictObject({
    type: z
      .enum(STORE_TYPES)
      .default('sqlite')
      .describe(
        'sqlite: kept sessions, queued QoS 1/2 messages, QoS 2 state, the upstream queue and retained messages survive a restart, a crash or a power cut. memory: all of it is lost on restart.',
      ),
    path: z
      .string()
      .min(1)
      .default(DEFAULT_STORE_PATH)
      .describe('The SQLite file, relative to the folder of this config file. Created when missing; its folder must exist and be writable. Not used by "memory".'),
  })
  .prefault({})
  .describe('Where state that must survive a restart is kept. Default: SQLite, in mqttsn-gateway.db next to this file.');

export type StoreConfig = z.output<typeof storeSchema>;

/**
 * The section as the gateway uses it: a SQLite path made absolute against `baseDir` (the config
 * file's folder; the working directory when there is none), and memory for a config that neither
 * came from a file nor asked for a store.
 */
export function resolveStoreConfig(store: StoreConfig, json: unknown, baseDir: string | undefined): StoreConfig {
  const written = typeof json === 'object' && json !== null && (json as Record<string, unknown>).store !== undefined;
  if (!written && baseDir === undefined) return { type: 'memory', path: store.path };
  if (store.type === 'memory') return store;
  return { type: 'sqlite', path: resolve(baseDir ?? '', store.path) };
}
