/** The bridge's small parts on their own: backoff, the echo filter, error classification. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { backoffDelay } from '../../src/bridge/backoff.js';
import { EchoFilter } from '../../src/bridge/echo.js';
import { BridgeErrorCode, classifyUpstreamError } from '../../src/bridge/errors.js';

describe('bridge: backoff', () => {
  const o = { initialMs: 1000, maxMs: 60_000 };

  it('doubles from initialMs up to maxMs', () => {
    const top = (attempt: number): number => backoffDelay(attempt, o, () => 0.999999);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map(top), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('jitters within the upper half of each step', () => {
    assert.equal(backoffDelay(1, o, () => 0), 500);
    assert.equal(backoffDelay(3, o, () => 0.5), 3000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(4, o);
      assert.ok(d >= 4000 && d <= 8000, String(d));
    }
  });

  it('never returns less than 1 ms, nor an infinite wait for huge attempt counts', () => {
    assert.equal(backoffDelay(1, { initialMs: 1, maxMs: 1 }, () => 0), 1);
    const huge = backoffDelay(10_000, { initialMs: 1000, maxMs: 2_147_483_647 }, () => 0.999999);
    assert.ok(huge > 2_147_483_647 / 2 && huge <= 2_147_483_647, String(huge));
    assert.equal(backoffDelay(0, o, () => 0), 500, 'attempt 0 counts as the first');
  });
});

describe('bridge: echo filter', () => {
  const make = (maxEntries = 100): { clock: FakeClock; echo: EchoFilter } => {
    const clock = new FakeClock();
    return { clock, echo: new EchoFilter(clock, { windowMs: 1000, maxEntries }) };
  };

  it('takes the first matching message once per message sent', () => {
    const { echo } = make();
    echo.sent('t', Buffer.from('a'));
    echo.sent('t', Buffer.from('a'));
    echo.sent('t', Buffer.from('b'));
    assert.equal(echo.take('t', Buffer.from('b')), true);
    assert.equal(echo.take('t', Buffer.from('b')), false);
    assert.equal(echo.take('u', Buffer.from('a')), false, 'another topic is not an echo');
    assert.equal(echo.take('t', Buffer.from('a')), true);
    assert.equal(echo.take('t', Buffer.from('a')), true);
    assert.equal(echo.take('t', Buffer.from('a')), false);
    assert.equal(echo.size, 0);
  });

  it('forgets what was sent longer ago than the window', () => {
    const { clock, echo } = make();
    echo.sent('t', Buffer.from('a'));
    clock.advance(600);
    echo.sent('t', Buffer.from('b'));
    clock.advance(500);
    assert.equal(echo.take('t', Buffer.from('a')), false, 'expired');
    assert.equal(echo.take('t', Buffer.from('b')), true);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const { echo } = make(2);
    echo.sent('t', Buffer.from('1'));
    echo.sent('t', Buffer.from('2'));
    echo.sent('t', Buffer.from('3'));
    assert.equal(echo.size, 2);
    assert.equal(echo.take('t', Buffer.from('1')), false);
    assert.equal(echo.take('t', Buffer.from('3')), true);
  });

  it('stays consistent over a long run with takes and expiry interleaved', () => {
    const { clock, echo } = make(5000);
    for (let i = 0; i < 20_000; i++) {
      echo.sent(`t/${i % 3}`, Buffer.from(String(i)));
      if (i % 2 === 0) assert.equal(echo.take(`t/${i % 3}`, Buffer.from(String(i))), true);
      clock.advance(1);
    }
    assert.ok(echo.size <= 1000, `only the last window is kept (${echo.size})`);
    echo.clear();
    assert.equal(echo.size, 0);
  });
});

describe('bridge: error classification', () => {
  const withCode = (message: string, code: unknown): Error => Object.assign(new Error(message), { code });

  it('names the CONNACK refusal', () => {
    const e = classifyUpstreamError(withCode('Connection refused: Bad username or password', 4), false);
    assert.equal(e.code, BridgeErrorCode.REFUSED);
    assert.equal(e.returnCode, 4);
    assert.match(e.message, /bad user name or password/);
    assert.equal(classifyUpstreamError(withCode('x', 5), false).returnCode, 5);
  });

  it('tells unreachable, TLS and lost apart', () => {
    assert.equal(classifyUpstreamError(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), false).code, BridgeErrorCode.UNREACHABLE);
    assert.equal(classifyUpstreamError(new Error('connack timeout'), false).code, BridgeErrorCode.UNREACHABLE);
    assert.equal(classifyUpstreamError(withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), false).code, BridgeErrorCode.TLS);
    assert.equal(classifyUpstreamError(withCode('unable to verify', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), false).code, BridgeErrorCode.TLS);
    assert.equal(classifyUpstreamError(withCode('alert', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), false).code, BridgeErrorCode.TLS);
    assert.equal(classifyUpstreamError(withCode('read ECONNRESET', 'ECONNRESET'), true).code, BridgeErrorCode.LOST);
    assert.equal(classifyUpstreamError(new Error('Keepalive timeout'), true).code, BridgeErrorCode.LOST);
    assert.equal(classifyUpstreamError('weird', false).code, BridgeErrorCode.UNREACHABLE);
  });
});
