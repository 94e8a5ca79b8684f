/**
 * 1.2's topic forms and 2.0's Topic Type [2.4, Fig 2-8], both ways, for a PUBLISH, PUBWOS or Will.
 * The one place that says which 1.2 form a 2.0 reference is: the gateway core thinks in 1.2
 * packets and the device simulator in 1.2 intents, and both speak 2.0 on the wire.
 *
 * | 1.2 (`PublishTopic`)           | 2.0 (`TopicRef`)                        |
 * | ------------------------------ | --------------------------------------- |
 * | normal topic id                | Session Topic Alias (0b00)              |
 * | predefined topic id            | Predefined Topic Alias (0b01)           |
 * | inline name (QoS -1 extension) | Topic Name (0b11)                       |
 * | short name (2 characters)      | none: see {@link ShortNames}            |
 */
import { CodecErrorCode, EncodeError } from '../../errors.js';
import type { PublishTopic } from '../packets.js';
import type { TopicRef } from './packets.js';

/**
 * What becomes of a 1.2 short topic name, which 2.0 does not have [2.4]: `as-name` sends it as the
 * full Topic Name it is (a gateway forwarding a message to a 2.0 subscriber, [3.6.2.4]); `refuse`
 * throws EncodeError BAD_TOPIC (a client whose caller must pick a full name or a predefined alias).
 */
export type ShortNames = 'as-name' | 'refuse';

/** The 2.0 reference of a 1.2 topic; throws EncodeError BAD_TOPIC for a short name when `shortNames` is `refuse`. */
export function toTopicRef(t: PublishTopic, shortNames: ShortNames): TopicRef {
  switch (t.topicIdType) {
    case 'normal':
      return { topicType: 'session', topicAlias: t.topicId };
    case 'predefined':
      return { topicType: 'predefined', topicAlias: t.topicId };
    case 'short':
      if (shortNames === 'refuse') throw new EncodeError(CodecErrorCode.BAD_TOPIC, `short topic name ${JSON.stringify(t.topicName)}: MQTT-SN 2.0 has none [2.4]`);
      return { topicType: 'name', topicName: t.topicName };
    case 'inline':
      return { topicType: 'name', topicName: t.topicName };
  }
}

/**
 * The 1.2 topic of a 2.0 reference. A session alias is a normal topic id (both allocated by the
 * gateway per client), a predefined alias a predefined id; a full Topic Name has no 1.2 form at
 * QoS 0-2 and becomes the inline name. Never a short name: `toTopicRef` of it with `as-name` comes
 * back inline.
 */
export function fromTopicRef(r: TopicRef): PublishTopic {
  switch (r.topicType) {
    case 'session':
      return { topicIdType: 'normal', topicId: r.topicAlias };
    case 'predefined':
      return { topicIdType: 'predefined', topicId: r.topicAlias };
    case 'name':
      return { topicIdType: 'inline', topicName: r.topicName };
  }
}
