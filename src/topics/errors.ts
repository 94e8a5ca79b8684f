import { MqttSnError } from '../errors.js';

/**
 * Stable codes of the topic layer. They live here until they move into `src/errors.ts` beside the
 * codes of the other layers.
 */
export const TopicErrorCode = {
  /** an entry of the predefined topic table is invalid or repeated */
  BAD_PREDEFINED_TOPIC: 'MQTTSN_ERR_BAD_PREDEFINED_TOPIC',
  /** a topic filter that MQTT 3.1.1 §4.7 does not allow was given where a valid one is required */
  BAD_TOPIC_FILTER: 'MQTTSN_ERR_BAD_TOPIC_FILTER',
  /** a registry limit outside 0..65534 */
  BAD_LIMIT: 'MQTTSN_ERR_BAD_LIMIT',
} as const;
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode];

export class TopicError extends MqttSnError {
  declare readonly code: TopicErrorCode;
  /** What was wrong, e.g. the key of the bad predefined entry, so a config message can point at it. */
  readonly subject: string | undefined;

  constructor(code: TopicErrorCode, message: string, subject?: string) {
    super(code, message);
    this.subject = subject;
  }
}
