/** How a request recognises its answer among the events of either version. */
import type { Event, EventType } from './types.js';

/** The answer to `type`, with `msgId` when given: the usual match of a request. */
export function answerTo(type: EventType, msgId?: number): (e: Event) => boolean {
  return (e) => e.type === type && (msgId === undefined || ('msgId' in e && e.msgId === msgId));
}

/** The topic requests are answered alike in both versions: by their ack, carrying their id. */
export const ACK_OF = { REGISTER: 'REGACK', SUBSCRIBE: 'SUBACK', UNSUBSCRIBE: 'UNSUBACK' } as const satisfies Record<string, EventType>;
