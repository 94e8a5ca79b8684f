import { MqttSnError, TopicErrorCode } from '../errors.js';

export { TopicErrorCode };

export class TopicError extends MqttSnError {
  declare readonly code: TopicErrorCode;
  /** What was wrong, e.g. the key of the bad predefined entry, so a config message can point at it. */
  readonly subject: string | undefined;

  constructor(code: TopicErrorCode, message: string, subject?: string) {
    super(code, message);
    this.subject = subject;
  }
}
