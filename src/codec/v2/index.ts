/**
 * The MQTT-SN 2.0 codec (OASIS CSD01): pure functions beside the 1.2 codec, sharing only the
 * Length framing and, for topic-ref.ts's mapping, the type of 1.2's topic forms. Import it as a
 * namespace (`import * as v2 from '../codec/v2/index.js'`) so that `v2.Packet` and 1.2's `Packet`
 * never meet under one name.
 */
export * from './constants.js';
export type * from './packets.js';
export { decode } from './decode.js';
export { encode } from './encode.js';
export { toTopicRef, fromTopicRef, type ShortNames } from './topic-ref.js';
export { DecodeError, EncodeError, CodecErrorCode } from '../../errors.js';
