/**
 * The `predefinedTopics` section: topic ids the clients know without REGISTER (TopicIdType
 * 0b01), each id and each name once.
 */
import { z } from 'zod';
import { TOPIC_ID_MAX, TOPIC_ID_MIN } from '../codec/constants.js';
import { ConfigIssueCode } from './errors.js';
import { always, isRecord, report, type IssueSink } from './fields.js';

// Predefined ids take the whole TopicId range except the reserved 0x0000 and 0xFFFF (MQTT-SN.md §1.5 TopicId, §4.5).
// The same rule as a pattern, so an editor flags a bad id before the gateway does.
const PREDEFINED_ID_PATTERN = '^(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-4])$';
// Wildcards are for SUBSCRIBE only (MQTT-SN.md §1.5, TopicName); U+0000 is forbidden in MQTT topic names.
const TOPIC_NAME_PATTERN = '^[^+#\\u0000]+$';

export const predefinedTopicsSchema = z
  .record(
    z.string().meta({ pattern: PREDEFINED_ID_PATTERN }),
    z.string().meta({ pattern: TOPIC_NAME_PATTERN }).describe('A topic name without wildcards.'),
  )
  .superRefine((table: unknown, ctx) => {
    if (!isRecord(table)) return;
    const byName = new Map<string, string>();
    for (const [id, name] of Object.entries(table)) {
      checkPredefinedId(id, ctx);
      if (typeof name !== 'string') continue; // the value schema already reported it
      if (name === '') {
        report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_NAME, 'got an empty topic name; expected a topic name without wildcards', name);
        continue;
      }
      if (/[+#]/.test(name)) {
        report(
          ctx,
          [id],
          ConfigIssueCode.INVALID_TOPIC_NAME,
          `${JSON.stringify(name)} contains a wildcard (+ or #), which only subscriptions may use; expected a topic name without wildcards`,
          name,
        );
      } else if (name.includes('\u0000')) {
        report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_NAME, `${JSON.stringify(name)} contains U+0000, which MQTT forbids in topic names`, name);
      }
      const earlier = byName.get(name);
      if (earlier === undefined) byName.set(name, id);
      else {
        report(
          ctx,
          [id],
          ConfigIssueCode.DUPLICATE_TOPIC_NAME,
          `${JSON.stringify(name)} is already predefined as id ${earlier}; expected each topic name under one id`,
          name,
        );
      }
    }
  }, always)
  .default({})
  .describe(
    'Topic ids known to the clients without REGISTER (TopicIdType 0b01). Keys: decimal ids 1..65534; ' +
      'values: topic names without wildcards. Each id and each name once.',
  );

function checkPredefinedId(id: string, ctx: IssueSink): void {
  if (!/^[0-9]+$/.test(id)) {
    report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_ID, `${JSON.stringify(id)} is not a topic id; expected a decimal number from 1 to 65534`, id);
  } else if (id.length > 1 && id.startsWith('0')) {
    // "01" next to "1" would be two keys for one id.
    report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_ID, `${JSON.stringify(id)} has a leading zero; expected ${JSON.stringify(String(Number(id)))}`, id);
  } else {
    const n = Number(id);
    if (n < TOPIC_ID_MIN || n > TOPIC_ID_MAX) {
      report(
        ctx,
        [id],
        ConfigIssueCode.TOPIC_ID_OUT_OF_RANGE,
        `${id} is out of range; expected a topic id from ${TOPIC_ID_MIN} to ${TOPIC_ID_MAX} (0 and 65535 are reserved)`,
        id,
      );
    }
  }
}
