/** The test helpers keep their promise: no mosquitto means a failure that says how to install it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findExecutable, mosquittoBinary } from '../helpers/mosquitto.js';

describe('test helper: mosquitto', () => {
  it('fails, never skips, without mosquitto, and names the install command', () => {
    assert.throws(() => findExecutable('mosquitto', [], ''), (err: unknown) => err instanceof Error && err.message.includes('apt-get install -y mosquitto'));
  });

  it('finds the Debian binary here', () => {
    assert.match(mosquittoBinary(), /mosquitto$/);
  });
});
