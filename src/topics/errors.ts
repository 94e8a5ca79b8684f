import { errorWithDetail, TopicErrorCode } from '../errors.js';

export { TopicErrorCode };

/** `subject`: what was wrong, e.g. the key of the bad predefined entry, so a config message can point at it. */
export class TopicError extends errorWithDetail<TopicErrorCode, 'subject', string>('subject') {}
