/** firmware-sim: simulated MQTT-SN v1.2 devices, for demos, integration tests and load. */
export { SimError, SimErrorCode } from './errors.js';
export type { Link, UdpAddress } from './link.js';
export { parseUdpUrl } from './link.js';
export { UdpLink, type UdpLinkOptions } from './links/udp.js';
export { SerialMedium, FRAMINGS, type Framing, type SerialMediumOptions } from './links/serial.js';
export { memoryLink, connectMemoryLink } from './links/memory.js';
export {
  SimNode,
  type ConnectOptions,
  type DiscoveryOptions,
  type NodeObserver,
  type NodeState,
  type PublishOptions,
  type PublishResult,
  type PublishTarget,
  type ReconnectOptions,
  type RequestKind,
  type SimMessage,
  type SimNodeEvents,
  type SimNodeOptions,
  type SubscribeResult,
  type SubscribeTarget,
  type Will,
} from './node.js';
export { profiles, PROFILE_NAMES, deliveryKey, type Profile, type ProfileContext, type ProfileName } from './profiles.js';
export { Histogram, RunStats, type LatencySummary, type SimReport } from './stats.js';
export { runFleet, seededRandom, type FleetOptions, type FleetProgress, type FleetTarget } from './fleet.js';
export { runLoad, type LoadOptions, type LoadReport } from './load.js';
