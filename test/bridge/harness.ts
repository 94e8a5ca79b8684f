/**
 * End-to-end pieces for the bridge tests: the gateway in process with an `upstream` section, UDP
 * MQTT-SN nodes (firmware-sim) in front of it, MQTT.js clients on the upstream mosquitto.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { SimError, SimNode, UdpLink, type SimMessage } from '../../firmware-sim/index.js';
import type { Bridge } from '../../src/bridge/types.js';
import { parseConfig } from '../../src/config/index.js';
import { createGateway, type RunningGateway } from '../../src/index.js';
import type { Logger } from '../../src/logger.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { until } from '../helpers/wait.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { after, before } from 'node:test';

// The one wait helper, re-exported for the tests that import it from here.
export { until };

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

export function recorder(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
}

/** A fixed delay. Not for waiting on something (that is `until`, or `expectNothing` for absence). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let markers = 0;
/** Payloads of barrier messages (see `markerUp`, `markerDown`), told apart by `isMarker`. */
const nextMarker = (): string => `marker-${++markers}`;
export const isMarker = (payload: string | Buffer): boolean => payload.toString().startsWith('marker-');

/**
 * Barrier for upward traffic: `n` publishes a QoS 2 marker on `topic` through the gateway and the
 * bridge, awaited at `w`. Whatever the bridge sent before it, at any QoS, reaches `w` first: one
 * TCP connection each way, and mosquitto hands a QoS 2 message on last (at PUBREL).
 */
export async function markerUp(n: SimNode, w: Watcher, topic: string): Promise<void> {
  const payload = nextMarker();
  await n.publish({ topic, payload, qos: 2 });
  await until(() => w.got.some((m) => m.payload === payload), 5000, `marker ${payload} on ${topic} upstream`);
}

/**
 * Barrier for downward traffic: `pub` publishes a QoS 2 marker on `topic` upstream, awaited in
 * `got` (what a subscribed node received). Whatever mosquitto sent the bridge before it has been
 * handled, and what that handling queued for the node is ahead of the marker (§6.6, one in flight).
 */
export async function markerDown(pub: MqttClient, got: readonly SimMessage[], topic: string): Promise<void> {
  const payload = nextMarker();
  await pub.publishAsync(topic, payload, { qos: 2 });
  await until(() => got.some((m) => m.payload.toString() === payload), 5000, `marker ${payload} on ${topic} down at the node`);
}

export interface BridgedGateway {
  running: RunningGateway;
  bridge: Bridge;
  udpPort: number;
  logs: LogLine[];
  close(): Promise<void>;
}

/**
 * The gateway in process, UDP on a free loopback port, no local MQTT listener, bridged as
 * `upstream` says; `sections` adds or replaces top-level sections (`http`, say).
 */
export async function startBridgedGateway(upstream: Record<string, unknown>, env: Record<string, string> = {}, sections: Record<string, unknown> = {}): Promise<BridgedGateway> {
  const config = parseConfig({
    transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
    broker: { listen: [] },
    timers: { advertiseIntervalSec: 0 },
    ...sections,
    upstream: { clientId: `gw-${Math.random().toString(36).slice(2, 8)}`, reconnect: { initialMs: 100, maxMs: 500 }, ...upstream },
  });
  const logs: LogLine[] = [];
  const running = await createGateway(config, { logger: recorder(logs), env });
  const udp = running.transports[0];
  if (!(udp instanceof UdpTransport) || running.bridge === undefined) throw new Error('expected a UDP transport and a bridge');
  return { running, bridge: running.bridge, udpPort: udp.address().port, logs, close: () => running.close() };
}

/** A connected MQTT-SN node on its own UDP socket. */
export async function snNode(udpPort: number, clientId: string, connect: Parameters<SimNode['connect']>[0] = {}): Promise<SimNode> {
  const link = await UdpLink.open({ gateway: { host: '127.0.0.1', port: udpPort, family: 4 } });
  const node = new SimNode({ link, clientId, retryMs: 1000, reconnect: false });
  await node.connect(connect);
  return node;
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface Watcher {
  client: MqttClient;
  got: Received[];
  close(): Promise<void>;
}

/** An MQTT.js client on the upstream broker, subscribed to `filter`, recording what arrives. */
export async function watch(url: string, filter: string, qos: 0 | 1 | 2 = 2, options: IClientOptions = {}): Promise<Watcher> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  await client.subscribeAsync(filter, { qos });
  return { client, got, close: () => client.endAsync(true) };
}

/** An MQTT.js client on the upstream broker that only publishes. */
export function publisher(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** What an end-to-end suite against one upstream makes, each part closed by the suite's cleanup list. */
export interface SuiteParts {
  /** a gateway bridged to the suite's upstream, once its (own) upstream connection stands */
  gateway: (upstream?: Record<string, unknown>, env?: Record<string, string>) => Promise<BridgedGateway>;
  /** a connected MQTT-SN node in front of `gw` */
  node: (gw: BridgedGateway, id: string, connect?: Parameters<typeof snNode>[2]) => Promise<SimNode>;
  /** an MQTT.js subscriber on the upstream */
  watcher: (filter: string) => Promise<Watcher>;
}

/** `url()` is read at each call: suites start their broker in `before`. `defaults` go into every gateway's `upstream`. */
export function suiteParts(url: () => string, cleanup: Array<() => Promise<unknown>>, defaults: Record<string, unknown> = {}): SuiteParts {
  return {
    gateway: async (upstream = {}, env = {}) => {
      const gw = await startBridgedGateway({ url: url(), ...defaults, ...upstream }, env);
      cleanup.push(() => gw.close());
      await until(() => gw.bridge.connected, 5000, 'bridge connected');
      return gw;
    },
    node: async (gw, id, connect) => {
      const n = await snNode(gw.udpPort, id, connect);
      cleanup.push(() => n.close());
      return n;
    },
    watcher: async (filter) => {
      const w = await watch(url(), filter);
      cleanup.push(() => w.close());
      return w;
    },
  };
}

/** The return code the gateway refused a node's request with (a SimError's), or undefined when it was accepted. */
export async function refusal(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof SimError) return err.returnCode;
    throw err;
  }
}

/** The return code of a refused CONNECT from a fresh node (undefined when accepted); the node's socket is closed either way. */
export async function connectRefusal(udpPort: number, clientId: string): Promise<number | undefined> {
  const link = await UdpLink.open({ gateway: { host: '127.0.0.1', port: udpPort, family: 4 } });
  const node = new SimNode({ link, clientId, retryMs: 1000, reconnect: false });
  try {
    return await refusal(node.connect());
  } finally {
    await node.close();
  }
}

/**
 * One mosquitto for the describe block this is called in (started before its tests, closed after
 * them and after everything they opened), and the parts to build on it.
 */
export function mosquittoSuite(defaults: Record<string, unknown> = {}): SuiteParts & { cleanup: Array<() => Promise<unknown>> } {
  let mosq: Mosquitto | undefined;
  const cleanup: Array<() => Promise<unknown>> = [];
  before(async () => {
    mosq = await Mosquitto.start();
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await mosq?.close();
  });
  const url = (): string => {
    if (mosq === undefined) throw new Error('mosquitto is not running yet: use the parts inside a test');
    return mosq.url;
  };
  return { ...suiteParts(url, cleanup, defaults), cleanup };
}
