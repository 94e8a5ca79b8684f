// Records every module a process imports, as "<pid> <url>" lines appended to the file named by
// MQTTSN_MODULE_LOG: a test loads it with NODE_OPTIONS=--import=<this file> and reads which
// modules a process (told apart by its pid from the children it starts) has loaded (issue #19).
// Plain JS: it runs in the loader-hooks thread before tsx could compile anything for it.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const file = process.env.MQTTSN_MODULE_LOG;
  if (file !== undefined) appendFileSync(file, `${process.pid} ${resolved.url}\n`);
  return resolved;
}
