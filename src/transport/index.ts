/** The transport layer: media in, `(peer, frame)` out. See `types.ts` for the contract. */
// The contract whole: whatever types.ts says a transport is, the layer exports.
export * from './types.js';
export type { Logger } from './log.js';
export { noopLogger } from './log.js';
export {
  createTransport,
  type MemoryTransportConfig,
  type SerialTransportConfig,
  type TransportConfig,
  type TransportDeps,
  type UdpTransportConfig,
} from './factory.js';
export { UdpTransport, udpPeer, type UdpOptions, type UdpAdvertiseOptions, type UdpPeer, type UdpSource } from './udp.js';
export {
  RawSerialTransport,
  RAW_IDLE_GAP_MS,
  SlipSerialTransport,
  type RawSerialOptions,
  type SlipSerialOptions,
  type SerialPeer,
  type SerialCommonOptions,
} from './serial.js';
export { RawDecoder } from './raw.js';
export type { SerialLinkOptions } from './serial-link.js';
export { XBeeTransport, type XBeeOptions, type XBeePeer } from './xbee.js';
export {
  ForwarderTransport,
  ForwardedNodes,
  encapsulate,
  decapsulate,
  type ForwardedPeer,
  type ForwarderOptions,
  type Decapsulated,
} from './forwarder.js';
export { MemoryTransport, MemoryEndpoint, createMemoryPair, type MemoryOptions, type MemoryPeer } from './memory.js';
export { SlipDecoder, slipEncode, type FrameSink, type StreamDecoder } from './slip.js';
export { createApiDecoder, encodeApiFrame, encodeTransmitRequest, checksum as xbeeChecksum, type ApiMode } from './xbee-api.js';
