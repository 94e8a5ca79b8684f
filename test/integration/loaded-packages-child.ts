/**
 * Starts a gateway in this process from the config given as JSON (argv[2]; SQLite store next to
 * argv[3]) with the process logger writing to a pipe, as under systemd, then prints which of the
 * optional heavy packages were loaded, one JSON line, and stops.
 */
import Module from 'node:module';
import { parseConfig } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';
import { createProcessLogger } from '../../src/observability/logger.js';

/** Packages only some configs need (issue #19: a gateway carries only what its config uses). */
export const OPTIONAL_PACKAGES = ['mqtt', 'serialport', 'prom-client', 'pino-pretty'] as const;

const config = parseConfig(JSON.parse(process.argv[2] ?? '{}'), 'test', process.argv[3]);
const logger = createProcessLogger({ level: 'warn', pretty: false, destination: process.stderr });
const gw = await createGateway(config, { logger });
// CommonJS packages, also those reached through `import`, are in the require cache.
const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
const loaded = OPTIONAL_PACKAGES.filter((name) => Object.keys(cache).some((file) => file.includes(`/node_modules/${name}/`)));
await gw.close();
process.stdout.write(`${JSON.stringify(loaded)}\n`);
