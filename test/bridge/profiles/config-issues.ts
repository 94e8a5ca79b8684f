/** Config checks of a profile, as a test reads them: the path and message of each issue an `upstream` section raises. */
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../../src/config/index.js';

export const transports = [{ type: 'udp', host: '127.0.0.1', port: 0 }];

/** The `upstream` section, parsed; throws on a mistake. */
export function parseUpstream(upstream: Record<string, unknown>) {
  const u = parseConfig({ transports, upstream }).upstream;
  assert.ok(u !== null);
  return u;
}

/** What is wrong with `upstream`, [] when nothing is. */
export function issuesOf(upstream: Record<string, unknown>): Array<{ path: string; message: string }> {
  try {
    parseConfig({ transports, upstream });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => ({ path: i.path, message: i.message }));
  }
  return [];
}
