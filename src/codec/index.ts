/** The MQTT-SN v1.2 codec: pure functions, no dependencies beyond Node's Buffer. */
export * from './constants.js';
export type * from './packets.js';
export { decode } from './decode.js';
export { encode } from './encode.js';
export { DecodeError, EncodeError, CodecErrorCode } from '../errors.js';
