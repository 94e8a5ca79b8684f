/**
 * The one mapping between 1.2's topic forms and 2.0's Topic Type [2.4], used by the gateway both
 * ways and by the device simulator: each form each way, the round trip over generated references,
 * and the short name that 2.0 does not have.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { PacketOf, PublishTopic } from '../../../src/codec/index.js';
import * as v2 from '../../../src/codec/v2/index.js';
import { anyPublishTopic } from '../arbitraries.js';
import { anyTopicRef } from './arbitraries.js';

const POLICIES: v2.ShortNames[] = ['as-name', 'refuse'];

/** fc.record builds objects without a prototype; the mapping returns plain ones. */
const plain = <T extends object>(o: T): T => ({ ...o });

describe('codec 2.0: topic references and 1.2 topic forms', () => {
  const pairs: Array<[string, PublishTopic, v2.TopicRef]> = [
    ['a normal topic id is a Session Topic Alias (0b00)', { topicIdType: 'normal', topicId: 12 }, { topicType: 'session', topicAlias: 12 }],
    ['a predefined topic id is a Predefined Topic Alias (0b01)', { topicIdType: 'predefined', topicId: 0x0101 }, { topicType: 'predefined', topicAlias: 0x0101 }],
    ['an inline name is a Topic Name (0b11)', { topicIdType: 'inline', topicName: 'sensors/t1' }, { topicType: 'name', topicName: 'sensors/t1' }],
  ];
  for (const [what, topic, ref] of pairs) {
    it(`${what}, both ways, whatever the short name policy`, () => {
      for (const policy of POLICIES) assert.deepEqual(v2.toTopicRef(topic, policy), ref);
      assert.deepEqual(v2.fromTopicRef(ref), topic);
    });
  }

  it('sends a short name as the full Topic Name it is under as-name, which comes back as an inline name', () => {
    const ref = v2.toTopicRef({ topicIdType: 'short', topicName: 'ab' }, 'as-name');
    assert.deepEqual(ref, { topicType: 'name', topicName: 'ab' });
    assert.deepEqual(v2.fromTopicRef(ref), { topicIdType: 'inline', topicName: 'ab' });
  });

  it('refuses a short name under refuse with EncodeError BAD_TOPIC', () => {
    assert.throws(
      () => v2.toTopicRef({ topicIdType: 'short', topicName: 'ab' }, 'refuse'),
      (e: unknown) => e instanceof v2.EncodeError && e.code === v2.CodecErrorCode.BAD_TOPIC,
    );
  });

  it('takes only the topic fields of a whole packet, so spreading the result into another packet adds nothing else', () => {
    const publish2: v2.PacketOf<'PUBLISH'> = { type: 'PUBLISH', dup: false, qos: 1, retain: true, packetId: 9, payload: Buffer.from('x'), topicType: 'session', topicAlias: 5 };
    assert.deepEqual(v2.fromTopicRef(publish2), { topicIdType: 'normal', topicId: 5 });
    const publish12: PacketOf<'PUBLISH'> = { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 3, payload: Buffer.alloc(0), topicIdType: 'predefined', topicId: 7 };
    assert.deepEqual(v2.toTopicRef(publish12, 'as-name'), { topicType: 'predefined', topicAlias: 7 });
  });

  it('every 2.0 reference survives 2.0 -> 1.2 -> 2.0 under either policy', () => {
    fc.assert(
      fc.property(anyTopicRef, fc.constantFrom(...POLICIES), (ref, policy) => {
        assert.deepEqual(v2.toTopicRef(v2.fromTopicRef(ref), policy), plain(ref));
      }),
      { numRuns: 2000 },
    );
  });

  it('every 1.2 topic survives 1.2 -> 2.0 -> 1.2, but a short name, which comes back inline or is refused', () => {
    fc.assert(
      fc.property(anyPublishTopic, fc.constantFrom(...POLICIES), (topic, policy) => {
        if (topic.topicIdType !== 'short') return assert.deepEqual(v2.fromTopicRef(v2.toTopicRef(topic, policy)), plain(topic));
        if (policy === 'as-name') return assert.deepEqual(v2.fromTopicRef(v2.toTopicRef(topic, policy)), { topicIdType: 'inline', topicName: topic.topicName });
        assert.throws(() => v2.toTopicRef(topic, policy), (e: unknown) => e instanceof v2.EncodeError && e.code === v2.CodecErrorCode.BAD_TOPIC);
      }),
      { numRuns: 2000 },
    );
  });
});
