/**
 * IncomingQos2, the receiver's side of QoS 2 across one session's connections (MQTT 3.1.1
 * §4.3.3 Method B): a message is handed on once per packet id until PUBREL, and its PUBREC goes
 * when the receiver is done, on the connection the message last came on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingQos2, IncomingQos2ByClient } from '../../src/bridge/incoming-qos2.js';

/** A connection's PUBREC writer: records what it wrote, or refuses once the connection is gone. */
function connection(): { pubrec: () => boolean; written: number; gone: boolean } {
  const c = {
    written: 0,
    gone: false,
    pubrec: (): boolean => {
      if (c.gone) return false;
      c.written++;
      return true;
    },
  };
  return c;
}

describe('bridge: IncomingQos2', () => {
  it('hands a new message on and answers it once, when the receiver is done', () => {
    const q = new IncomingQos2();
    const a = connection();
    const done = q.take(1, a.pubrec);
    assert.ok(done);
    assert.equal(a.written, 0, 'no PUBREC before the receiver is done');
    done();
    done();
    assert.equal(a.written, 1);
  });

  it('does not hand on again a message sent again before PUBREL; the PUBREC goes on the connection it came on last', () => {
    const q = new IncomingQos2();
    const a = connection();
    const b = connection();
    const done = q.take(7, a.pubrec)!;
    a.gone = true;
    assert.equal(q.take(7, b.pubrec), undefined, 'the same message, sent again after a reconnect');
    done();
    assert.deepEqual([a.written, b.written], [0, 1]);
  });

  it('answers at once a message sent again that the receiver was done with while no connection stood', () => {
    const q = new IncomingQos2();
    const a = connection();
    const done = q.take(7, a.pubrec)!;
    a.gone = true;
    done();
    const b = connection();
    assert.equal(q.take(7, b.pubrec), undefined);
    assert.equal(b.written, 1);
  });

  it('answers again a message sent again after its PUBREC (the PUBREC lost with its connection)', () => {
    const q = new IncomingQos2();
    const a = connection();
    q.take(3, a.pubrec)!();
    const b = connection();
    assert.equal(q.take(3, b.pubrec), undefined);
    assert.deepEqual([a.written, b.written], [1, 1]);
  });

  it('takes the id for a new message after PUBREL, and holds nothing of it', () => {
    const q = new IncomingQos2();
    const a = connection();
    q.take(3, a.pubrec)!();
    q.released(3);
    assert.equal(q.size, 0);
    assert.ok(q.take(3, a.pubrec), 'a new message under the released id');
  });

  it('forgets everything when the broker kept no session: a late done answers nothing', () => {
    const q = new IncomingQos2();
    const a = connection();
    const late = q.take(5, a.pubrec)!;
    q.take(6, a.pubrec);
    q.forgetAll();
    assert.equal(q.size, 0);
    const b = connection();
    const fresh = q.take(5, b.pubrec);
    assert.ok(fresh, 'a new message under the id');
    late();
    assert.deepEqual([a.written, b.written], [0, 0], "the old message's done answers neither the broker that forgot it nor the new message");
    fresh();
    assert.equal(b.written, 1);
  });
});

describe('bridge: IncomingQos2ByClient', () => {
  const hold = (t: IncomingQos2, id: number): void => void t.take(id, () => true);

  it("gives a device's next link the table of the last one while it holds ids, and forgets an empty one", () => {
    const q = new IncomingQos2ByClient(10);
    const first = q.open('a');
    hold(first, 1);
    q.ended('a', false);
    assert.equal(q.open('a'), first, 'the same table: the message held is known to the next link');
    first.released(1);
    q.ended('a', false);
    assert.equal(q.size, 0, 'nothing held: nothing kept');
    assert.notEqual(q.open('a'), first);
  });

  it('keeps the table of a device whose newer link stands', () => {
    const q = new IncomingQos2ByClient(0);
    const t = q.open('a');
    q.ended('a', true);
    assert.equal(q.size, 1);
    assert.equal(q.open('a'), t);
  });

  it('keeps at most maxIdle tables of devices gone, the longest gone dropped first, never a linked one', () => {
    const q = new IncomingQos2ByClient(2);
    const linked = q.open('linked');
    for (const id of ['a', 'b', 'c']) {
      hold(q.open(id), 1);
      q.ended(id, false);
    }
    assert.equal(q.size, 3, 'two devices gone, and the linked one');
    assert.equal(q.open('linked'), linked);
    const a = q.open('a');
    assert.equal(a.size, 0, "the longest gone was dropped: its device gets a fresh table (a message may come twice, none is lost)");
    assert.equal(q.open('c').size, 1);
  });
});
