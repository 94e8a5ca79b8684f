/** Both session stores against the shared conformance suite; the SQLite one reopened on its file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import type { SessionStore } from '../../src/store/session-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { sessionStoreConformance } from './session-store.conformance.js';

sessionStoreConformance('memory', { open: () => new MemorySessionStore() });

let dir: string | undefined;
let n = 0;
const paths = new WeakMap<SessionStore, string>();

sessionStoreConformance('sqlite', {
  async open() {
    dir ??= await mkdtemp(join(tmpdir(), 'mqttsn-store-'));
    const path = join(dir, `s${++n}.db`);
    const store = SqliteStore.open(path);
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    await store.close();
    const again = SqliteStore.open(path);
    paths.set(again, path);
    return again;
  },
  async cleanup() {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  },
});
