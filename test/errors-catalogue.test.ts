/**
 * The one catalogue of error codes: a code string names one thing across every layer, so a log
 * search for it finds one kind of failure.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as errors from '../src/errors.js';

describe('error code catalogue', () => {
  const catalogues = Object.entries(errors).filter(([name]) => name.endsWith('ErrorCode')) as Array<[string, Record<string, string>]>;

  it('holds the codes of every layer', () => {
    assert.deepEqual(catalogues.map(([name]) => name).sort(), [
      'BridgeErrorCode',
      'BrokerErrorCode',
      'CodecErrorCode',
      'ConfigErrorCode',
      'ObservabilityErrorCode',
      'StoreErrorCode',
      'TopicErrorCode',
      'TransportErrorCode',
    ]);
  });

  it('gives each code string one name, and every code the MQTTSN_ERR_ prefix', () => {
    const nameOf = new Map<string, string>();
    for (const [, table] of catalogues) {
      for (const [key, code] of Object.entries(table)) {
        assert.match(code, /^MQTTSN_ERR_[A-Z0-9_]+$/);
        const seen = nameOf.get(code);
        // The broker and the topic layer both refuse a bad filter: the same failure, the same name.
        assert.ok(seen === undefined || seen === key, `${code} is both ${seen} and ${key}`);
        nameOf.set(code, key);
      }
    }
  });
});
