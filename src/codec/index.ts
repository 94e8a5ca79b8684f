/**
 * The MQTT-SN v1.2 codec: pure functions, no dependencies beyond Node's Buffer. The 2.0 codec sits
 * beside it as the `v2` namespace, and `demultiplex` says which of the two reads a datagram.
 */
export * from './constants.js';
export type * from './packets.js';
export { decode } from './decode.js';
export { encode } from './encode.js';
export { DecodeError, EncodeError, CodecErrorCode } from '../errors.js';
export * as v2 from './v2/index.js';
export { demultiplex, type DemuxRule, type DemuxVerdict, type SenderKnowledge, type SnVersion } from './demux.js';
