/**
 * The waitress on a fake clock: answers matched to their request, T_RETRY retransmissions,
 * N_RETRY exhaustion (MQTT-SN.md §4.13), steps that move an exchange on, and failing what waits.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../src/clock.js';
import { Waitress, type Outcome, type Pending, type WaitRequest } from '../src/waitress.js';

/** Answers as a gateway would send them: a type and a message id. */
interface Answer {
  type: string;
  msgId: number;
}

interface Tag {
  kind: string;
  msgId: number;
}

const RETRY_MS = 10_000;

function setup(o: { maxRetries?: number } = {}) {
  const clock = new FakeClock();
  const sent: string[] = [];
  const events: string[] = [];
  const w = new Waitress<string, Answer, Tag>({
    clock,
    retryMs: RETRY_MS,
    maxRetries: o.maxRetries ?? 3,
    send: (frame, r) => sent.push(`${r.tag.kind}#${r.tag.msgId}:${frame}`),
    timeoutError: (r: Pending<Tag>) => new Error(`no answer to ${r.tag.kind} after ${r.retries}`),
    retransmitting: (r) => events.push(`retransmit ${r.tag.kind} ${r.retries}`),
    settled: (r, out: Outcome<Answer>) => events.push(`settled ${r.tag.kind} ${'answer' in out ? 'ok' : out.error.message} after ${clock.now() - r.startedAt}`),
    expired: (r) => events.push(`expired ${r.tag.kind}`),
  });
  return { clock, sent, events, w };
}

/** The usual request: an answer of `type` carrying the request's message id. */
function request(kind: string, msgId: number, type: string, extra: Partial<WaitRequest<string, Answer, Tag>> = {}): WaitRequest<string, Answer, Tag> {
  return { tag: { kind, msgId }, frame: `${kind}(${msgId})`, match: (a) => a.type === type && a.msgId === msgId, ...extra };
}

/** Resolves to 'pending' while the promise has not settled (after the microtasks run). */
async function stateOf(p: Promise<unknown>): Promise<string> {
  const marker = {};
  const r = await Promise.race([p.then(() => 'resolved', () => 'rejected'), new Promise((res) => setImmediate(() => res(marker)))]);
  return r === marker ? 'pending' : (r as string);
}

describe('Waitress (fake clock)', () => {
  it('sends at once and resolves with the answer whose type and message id match', async () => {
    const { w, sent, clock } = setup();
    const a = w.wait(request('register', 7, 'REGACK'));
    const b = w.wait(request('subscribe', 8, 'SUBACK'));
    assert.deepEqual(sent, ['register#7:register(7)', 'subscribe#8:subscribe(8)']);
    // Same type, other id; other type, same id: neither is an answer.
    assert.equal(w.offer({ type: 'REGACK', msgId: 8 }), undefined);
    assert.equal(w.offer({ type: 'PUBACK', msgId: 7 }), undefined);
    clock.advance(500);
    const taken = w.offer({ type: 'SUBACK', msgId: 8 });
    assert.equal(taken?.request.tag.kind, 'subscribe');
    assert.equal(taken?.verdict, true);
    assert.deepEqual(await b, { type: 'SUBACK', msgId: 8 });
    assert.equal(await stateOf(a), 'pending');
    assert.equal(w.size, 1);
    // An answer is taken once: a repeat finds nobody waiting.
    assert.equal(w.offer({ type: 'SUBACK', msgId: 8 }), undefined);
  });

  it('retransmits every T_RETRY and times out after N_RETRY retransmissions', async () => {
    const { w, sent, events, clock } = setup({ maxRetries: 2 });
    let n = 0;
    const p = w.wait(request('publish1', 3, 'PUBACK', { retransmit: () => `publish1(3,dup=1,n=${++n})` }));
    clock.advance(RETRY_MS - 1);
    assert.equal(sent.length, 1, 'nothing before T_RETRY');
    clock.advance(1);
    clock.advance(RETRY_MS);
    assert.deepEqual(sent, ['publish1#3:publish1(3)', 'publish1#3:publish1(3,dup=1,n=1)', 'publish1#3:publish1(3,dup=1,n=2)']);
    assert.equal(await stateOf(p), 'pending');
    clock.advance(RETRY_MS);
    await assert.rejects(p, /no answer to publish1 after 2/);
    assert.deepEqual(events, ['retransmit publish1 1', 'retransmit publish1 2', `settled publish1 no answer to publish1 after 2 after ${3 * RETRY_MS}`, 'expired publish1']);
    assert.equal(sent.length, 3, 'no send after the time-out');
    assert.equal(w.size, 0);
    assert.equal(clock.pending(), 0, 'no timer left');
  });

  it('an answer stops the retransmissions and leaves no timer', async () => {
    const { w, sent, clock } = setup();
    const p = w.wait(request('ping', 0, 'PINGRESP'));
    clock.advance(RETRY_MS);
    w.offer({ type: 'PINGRESP', msgId: 0 });
    await p;
    clock.advance(10 * RETRY_MS);
    assert.equal(sent.length, 2);
    assert.equal(clock.pending(), 0);
  });

  it('a request may set its own delays and retry count (growing search intervals)', async () => {
    const { w, sent, clock } = setup();
    const p = w.wait(request('search', 0, 'GWINFO', { delay: (n) => 1000 * 2 ** n, maxRetries: 2 }));
    clock.advance(1000);
    clock.advance(2000);
    assert.equal(sent.length, 3);
    clock.advance(3999);
    assert.equal(await stateOf(p), 'pending');
    clock.advance(1);
    await assert.rejects(p, /after 2/);
  });

  it('skipFirstSend only waits, and retransmits at T_RETRY', async () => {
    const { w, sent, clock } = setup();
    const p = w.wait(request('search', 0, 'GWINFO', { skipFirstSend: true }));
    assert.deepEqual(sent, []);
    clock.advance(RETRY_MS);
    assert.deepEqual(sent, ['search#0:search(0)']);
    w.offer({ type: 'GWINFO', msgId: 0 });
    await p;
  });

  it('{ next } sends the next step now, restarts retries and T_RETRY, and retransmits that step', async () => {
    const { w, sent, clock } = setup({ maxRetries: 1 });
    const p = w.wait({
      tag: { kind: 'connect', msgId: 0 },
      frame: 'CONNECT',
      match: (a) => (a.type === 'CONNACK' ? true : a.type === 'WILLTOPICREQ' ? { next: 'WILLTOPIC' } : false),
    });
    clock.advance(RETRY_MS); // retry 1 of 1 used up
    clock.advance(RETRY_MS - 1);
    const taken = w.offer({ type: 'WILLTOPICREQ', msgId: 0 });
    assert.deepEqual(taken?.verdict, { next: 'WILLTOPIC' });
    clock.advance(RETRY_MS - 1);
    assert.deepEqual(sent, ['connect#0:CONNECT', 'connect#0:CONNECT', 'connect#0:WILLTOPIC']);
    clock.advance(1);
    assert.deepEqual(sent.slice(3), ['connect#0:WILLTOPIC'], 'the retransmission repeats the current step');
    assert.equal(await stateOf(p), 'pending', 'the retry count restarted with the step');
    w.offer({ type: 'CONNACK', msgId: 0 });
    await p;
  });

  it("'resend' repeats the current frame and restarts T_RETRY without counting a retry", async () => {
    const { w, sent, clock } = setup({ maxRetries: 1 });
    const p = w.wait({
      tag: { kind: 'publish2', msgId: 5 },
      frame: 'PUBREL(5)',
      match: (a) => (a.msgId !== 5 ? false : a.type === 'PUBCOMP' ? true : a.type === 'PUBREC' ? 'resend' : false),
    });
    clock.advance(RETRY_MS); // the one retry
    clock.advance(RETRY_MS - 1);
    w.offer({ type: 'PUBREC', msgId: 5 });
    assert.equal(sent.length, 3);
    clock.advance(RETRY_MS - 1);
    assert.equal(await stateOf(p), 'pending', 'T_RETRY restarted at the resend');
    clock.advance(1);
    await assert.rejects(p, /after 1/);
  });

  it('restartTimers pushes back T_RETRY of the chosen requests only', () => {
    const { w, sent, clock } = setup();
    void w.wait(request('wake', 0, 'PINGRESP')).catch(() => {});
    void w.wait(request('register', 1, 'REGACK')).catch(() => {});
    clock.advance(RETRY_MS - 1);
    w.restartTimers((t) => t.kind === 'wake');
    clock.advance(1);
    assert.deepEqual(sent.slice(2), ['register#1:register(1)']);
    clock.advance(RETRY_MS - 1);
    assert.deepEqual(sent.slice(3), ['wake#0:wake(0)']);
    w.failAll(new Error('done'));
  });

  it('failAll rejects every waiting request in order, reports each, and stops their timers', async () => {
    const { w, events, clock } = setup();
    const a = w.wait(request('register', 1, 'REGACK'));
    const b = w.wait(request('subscribe', 2, 'SUBACK'));
    assert.equal(w.some((t) => t.msgId === 2), true);
    w.failAll(new Error('closed'));
    await assert.rejects(a, /closed/);
    await assert.rejects(b, /closed/);
    assert.deepEqual(events, ['settled register closed after 0', 'settled subscribe closed after 0']);
    assert.equal(w.some((t) => t.msgId === 2), false);
    assert.equal(clock.pending(), 0);
  });

  it('after a { next } step, retransmissions repeat that step, not the first frame with DUP', async () => {
    const { w, sent, clock } = setup();
    const p = w.wait({
      tag: { kind: 'publish2', msgId: 4 },
      frame: 'PUBLISH(4)',
      retransmit: () => 'PUBLISH(4,dup=1)',
      match: (a) => (a.msgId !== 4 ? false : a.type === 'PUBREC' ? { next: 'PUBREL(4)' } : a.type === 'PUBCOMP'),
    });
    clock.advance(RETRY_MS);
    w.offer({ type: 'PUBREC', msgId: 4 });
    clock.advance(RETRY_MS);
    assert.deepEqual(sent, ['publish2#4:PUBLISH(4)', 'publish2#4:PUBLISH(4,dup=1)', 'publish2#4:PUBREL(4)', 'publish2#4:PUBREL(4)']);
    w.offer({ type: 'PUBCOMP', msgId: 4 });
    await p;
  });

  it('stopTimers ends the retransmissions and the time-out of the chosen requests, which still take their answers', async () => {
    const { w, sent, clock } = setup({ maxRetries: 1 });
    const stopped = w.wait(request('publish1', 1, 'PUBACK'));
    const running = w.wait(request('publish1', 2, 'PUBACK'));
    w.stopTimers((t) => t.msgId === 1);
    assert.equal(w.find((t) => t.msgId === 1)?.retries, 0);
    clock.advance(10 * RETRY_MS);
    await assert.rejects(running, /after 1/);
    assert.deepEqual(sent, ['publish1#1:publish1(1)', 'publish1#2:publish1(2)', 'publish1#2:publish1(2)']);
    assert.equal(await stateOf(stopped), 'pending');
    assert.equal(clock.pending(), 0);
    w.offer({ type: 'PUBACK', msgId: 1 });
    await stopped;
  });

  it('an answer that comes back while the frame is being sent settles the request and leaves no timer', async () => {
    const clock = new FakeClock();
    const w: Waitress<string, Answer, Tag> = new Waitress<string, Answer, Tag>({
      clock,
      retryMs: RETRY_MS,
      maxRetries: 3,
      // An in-memory peer that answers at once, inside the send.
      send: (_frame, r) => void w.offer({ type: 'PUBACK', msgId: r.tag.msgId }),
      timeoutError: () => new Error('timed out'),
    });
    assert.deepEqual(await w.wait(request('publish1', 9, 'PUBACK')), { type: 'PUBACK', msgId: 9 });
    assert.equal(clock.pending(), 0);
  });

  it('start waits as wait does, without a promise: the answer comes back from offer, the time-out through expired', () => {
    const { w, sent, events, clock } = setup({ maxRetries: 1 });
    w.start(request('publish1', 1, 'PUBACK'));
    w.start(request('publish1', 2, 'PUBACK'));
    assert.equal(w.offer({ type: 'PUBACK', msgId: 1 })?.request.tag.msgId, 1);
    clock.advance(2 * RETRY_MS);
    assert.deepEqual(sent, ['publish1#1:publish1(1)', 'publish1#2:publish1(2)', 'publish1#2:publish1(2)']);
    assert.deepEqual(events.slice(-2), [`settled publish1 no answer to publish1 after 1 after ${2 * RETRY_MS}`, 'expired publish1']);
    assert.equal(w.size, 0);
  });
});
