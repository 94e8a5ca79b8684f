/**
 * The log under a peer's control, with the shipped defaults: per-client lines (asleep, awake,
 * refused...) are logged one by one up to a budget per kind and window, then counted into one
 * line at the window's end, so no count is lost; and what a peer writes (a client id of 1.4 KB,
 * escape sequences) reaches the log bounded and escaped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PEER_LINE_BURST, PEER_LINE_INTERVAL_MS } from '../../src/log-throttle.js';
import { MAX_LOGGED_TEXT } from '../../src/logger.js';
import { Harness, recordingLogger } from './harness.js';

const CYCLES = 2000;

describe('per-client log lines', () => {
  it('2000 sleep/wake cycles cost a few dozen lines, and the summary counts every one', async () => {
    const { logger, lines } = recordingLogger();
    const h = await new Harness({}, undefined, logger).start();
    const c = h.client('udp:sleepy');
    await c.connect('sleepy');
    for (let i = 0; i < CYCLES; i++) {
      c.send({ type: 'DISCONNECT', duration: 60 });
      c.send({ type: 'PINGREQ', clientId: 'sleepy' });
    }
    const kinds = ['client asleep', 'client awake'];
    const count = (msg: string): number => lines.filter((l) => l.msg === msg).length;
    for (const k of kinds) assert.equal(count(k), PEER_LINE_BURST, `${k}: the budget of the window, one line each`);
    // The gateway still did its work: every cycle was answered (DISCONNECT and PINGRESP each).
    assert.equal(c.take().filter((p) => p.type === 'PINGRESP').length, CYCLES);

    await h.advance(PEER_LINE_INTERVAL_MS);
    for (const k of kinds) {
      const summary = lines.filter((l) => l.msg.startsWith(`${k} (`));
      assert.equal(summary.length, 1, `${k}: one summary at the window's end`);
      assert.equal(summary[0]!.obj.heldBack, CYCLES - PEER_LINE_BURST, 'logged plus held back is every event');
      assert.equal(summary[0]!.obj.clientId, 'sleepy', "the last one's fields");
    }
    assert.ok(lines.length <= 2 * (PEER_LINE_BURST + 1) + 5, `${lines.length} lines in all`);

    // A new window logs one by one again.
    c.send({ type: 'DISCONNECT', duration: 60 });
    assert.equal(count('client asleep'), PEER_LINE_BURST + 1);
  });

  it('a refused CONNECT with a 1.4 KB client id logs it cut to a bounded length, saying how long it was', async () => {
    const { logger, lines } = recordingLogger();
    const h = await new Harness({}, undefined, logger).start();
    const long = 'x'.repeat(1400);
    h.client('udp:long').send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: long });
    const line = lines.find((l) => l.msg.startsWith('CONNECT refused'));
    assert.ok(line, 'the refusal is logged');
    const logged = line.obj.clientId as string;
    assert.ok(logged.length <= MAX_LOGGED_TEXT + 20, `${logged.length} characters logged`);
    assert.ok(logged.startsWith('x'.repeat(MAX_LOGGED_TEXT)));
    assert.match(logged, /\(1400 chars\)$/);
    assert.ok(JSON.stringify(lines).length < 2000, 'no line carries the whole id');
  });

  it('escapes control characters of a client id (no terminal escape sequences in the log)', async () => {
    const { logger, lines } = recordingLogger();
    const h = await new Harness({}, undefined, logger).start();
    await h.client('udp:esc').connect('a\u001b[2Jb\nc');
    const line = lines.find((l) => l.msg === 'client connected');
    assert.equal(line?.obj.clientId, 'a\\u001b[2Jb\\u000ac');
  });

  it('bounds the fields of a refusal line too (a forwarder node id or client id a peer chose)', async () => {
    const { logger, lines } = recordingLogger();
    // auth.clients set: an unknown client id is refused through the refusal log.
    const h = await new Harness({ auth: { clients: [{ clientId: 'known' }] } }, undefined, logger).start();
    const id = `${'y'.repeat(100)}\u001b`;
    h.client('udp:stranger').send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: id });
    const line = lines.find((l) => l.msg.startsWith('CONNECT refused: client id not allowed'));
    assert.ok(line, 'the refusal is logged');
    assert.match(line.obj.clientId as string, /^y{64}…\(101 chars\)$/);
  });
});
