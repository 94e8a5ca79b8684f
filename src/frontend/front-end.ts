/**
 * A stateless UDP front end for several gateway instances (issue #21). Devices send to one
 * address; each datagram goes to the instance rendezvous hashing picks for the device's address
 * and port among the instances alive, wrapped in MQTT-SN 1.2 forwarder encapsulation (§5.5) whose
 * Wireless Node Id is the device's address and port (front-end-address.ts). An instance answers
 * wrapped with the same node id, which is all the front end needs to send the answer on: no proxy
 * session can time out under a gateway-initiated message (a sleeper's buffered PUBLISH, a retry).
 * The one thing kept per device is, for devices moved off an instance that was out, where they
 * went (affinity.ts: bounded, idle-expiring), so they stay there when it comes back; a restarted
 * front end loses only that (those devices go home, are told DISCONNECT there and CONNECT again).
 *
 * ```
 * device ──datagram──► front end ──0xFE {node id = device ip:port} + datagram──► instance k
 * device ◄──message─── front end ◄──0xFE {node id} + message────────────────── instance k
 * ```
 *
 * Discovery: the front end answers SEARCHGW itself with GWINFO (no GwAdd: the device answers the
 * sender, the front end), while at least one instance is alive, and broadcasts ADVERTISE when
 * configured, so devices see one gateway. Instances' own broadcasts never reach devices through it.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { noopLogger, type Logger } from '../logger.js';
import { decapsulate, encapsulate, isEncapsulated } from '../transport/forwarder.js';
import { deviceNodeId, deviceOfNodeId } from '../transport/front-end-address.js';
import { AffinityTable } from './affinity.js';
import { InstanceHealth } from './health.js';
import { fnv1a, pickInstance } from './rendezvous.js';

export interface FrontEndInstance {
  /** IP address of the instance's UDP transport, of the listening address's family */
  host: string;
  port: number;
}

export interface FrontEndOptions {
  /** address the devices send to (IP literal); default 0.0.0.0 */
  host?: string;
  /** 0 picks a free port (tests) */
  port: number;
  instances: readonly FrontEndInstance[];
  /** GwId in the front end's GWINFO and ADVERTISE; default 1 */
  gatewayId?: number;
  /** probe interval; default 1000 */
  probeIntervalMs?: number;
  /** silent intervals, with a probe refused by the instance's port among them, before it is out; default 3 */
  missedProbes?: number;
  /** silent intervals without a refusal (a stalled process, or a lost host) before it is out; default 10 */
  silentProbes?: number;
  /** devices moved off an instance that was out stay where they went (affinity.ts); defaults 100000 and 86400 */
  affinity?: { maxEntries?: number; idleSec?: number };
  /** ADVERTISE target and period; none without it */
  advertise?: { address: string; port: number; intervalSec: number };
  logger?: Logger;
}

export interface FrontEndStats {
  /** datagrams from devices sent on to an instance, per instance */
  toInstances: number[];
  /** messages from instances sent on to devices */
  toDevices: number;
  /** SEARCHGW answered by the front end itself */
  searchGwAnswered: number;
  /** datagrams dropped: not forwardable (see the log), or from an instance and not for a device */
  dropped: number;
  /** probes the kernel reported refused (ICMP port unreachable): the instance's process is gone */
  probesRefused: number;
  /** devices remembered on an instance other than their home (affinity.ts) */
  affinityEntries: number;
  /** datagrams of moved devices routed by the hash alone because the affinity table was full */
  affinityFull: number;
}

export interface RunningFrontEnd {
  /** the bound address and port (the port is the free one with `port: 0`) */
  readonly address: string;
  readonly port: number;
  /** whether each instance (in the order given) is in the hash now */
  instancesUp(): boolean[];
  stats(): FrontEndStats;
  close(): Promise<void>;
}

const UDP_MAX = { 4: 65_507, 6: 65_527 } as const;
/** What the kernel says of a connected UDP socket whose peer sent ICMP unreachable. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);
const ALL = (): boolean => true;
const MSG_SEARCHGW = 0x01;
const MSG_ADVERTISE = 0x00;

/** Binds the front end and starts probing; resolves once it takes datagrams. */
export async function startFrontEnd(o: FrontEndOptions): Promise<RunningFrontEnd> {
  const host = o.host ?? '0.0.0.0';
  const family = isIP(host);
  if (family !== 4 && family !== 6) throw new RangeError(`front end: listen host ${JSON.stringify(host)} is not an IP address`);
  if (o.instances.length === 0) throw new RangeError('front end: no instances');
  for (const i of o.instances) {
    if (isIP(i.host) !== family) throw new RangeError(`front end: instance ${i.host}:${i.port} is not an IPv${family} address like the listening one`);
  }
  const log = o.logger ?? noopLogger;
  const gwId = o.gatewayId ?? 1;
  const intervalMs = o.probeIntervalMs ?? 1000;
  const instances = o.instances.map((i) => ({ ...i, name: family === 6 ? `[${i.host}]:${i.port}` : `${i.host}:${i.port}` }));
  const byAddress = new Map(instances.map((i, n) => [`${i.host}|${i.port}`, n]));
  const seeds = instances.map((i) => fnv1a(Buffer.from(i.name)));
  const stats = { toInstances: instances.map(() => 0), toDevices: 0, searchGwAnswered: 0, dropped: 0, probesRefused: 0 };
  const missedProbes = o.missedProbes ?? 3;
  const silentProbes = o.silentProbes ?? 10;
  const health = new InstanceHealth(instances.length, { intervalMs, missedProbes, silentProbes }, (n, up, why) => {
    const instance = instances[n]!.name;
    if (up) log.info({ instance }, 'front end: instance answers again; devices new or idle since go to it, moved ones stay where they are');
    else if (why === 'refused') log.warn({ instance, afterMs: intervalMs * missedProbes }, "front end: instance silent and its port refuses probes; its devices go to the others");
    else log.warn({ instance, afterMs: intervalMs * silentProbes }, 'front end: instance silent (stalled, or its host lost); its devices go to the others');
  });
  const affinity = new AffinityTable(o.affinity?.maxEntries ?? 100_000, (o.affinity?.idleSec ?? 86_400) * 1000);

  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
  const maxWrapped = UDP_MAX[family];
  const drop = (detail: object, msg: string): void => {
    stats.dropped++;
    log.debug(detail, msg);
  };
  const send = (b: Buffer, port: number, address: string): void => {
    // A failed send is a lost datagram, as on the wire: the device or instance retries.
    socket.send(b, port, address, (err) => {
      if (err) log.debug({ to: `${address}:${port}`, err: err.message }, 'front end: send failed');
    });
  };

  const fromInstance = (n: number, msg: Buffer): void => {
    health.heardFrom(n);
    const parts = decapsulate(msg);
    // GWINFO answering a probe, or an instance's own broadcast: nothing for a device.
    if (parts == null) return;
    const device = deviceOfNodeId(parts.nodeId);
    if (device === undefined || isIP(device.address) !== family) {
      drop({ instance: instances[n]!.name, nodeId: parts.nodeId.toString('hex') }, 'front end: reply for a node id that is no device of this front end');
      return;
    }
    stats.toDevices++;
    send(parts.message, device.port, device.address);
  };

  /**
   * The instance for a device: where it was moved, while that instance lives; else its home (the
   * hash over all instances) while that lives; else the hash over the live ones, remembered as a
   * move. With none alive, the home (the probes may be what is lost).
   */
  const route = (nodeId: Buffer, device: string): number => {
    const now = Date.now();
    const moved = affinity.get(device, now);
    if (moved !== undefined && health.up(moved)) return moved;
    const home = pickInstance(nodeId, seeds, ALL);
    if (health.up(home)) {
      if (moved !== undefined) affinity.delete(device);
      return home;
    }
    const n = pickInstance(nodeId, seeds, (i) => health.up(i));
    if (n < 0) return moved ?? home;
    // Logged at the first and every 1,000th: a flood of them says nothing more.
    if (!affinity.set(device, n, now) && affinity.full % 1000 === 1) {
      log.warn({ maxEntries: affinity.maxEntries, notRemembered: affinity.full }, 'front end: affinity table full; moved devices beyond it go home when their instance returns');
    }
    return n;
  };

  const fromDevice = (msg: Buffer, address: string, port: number): void => {
    // MQTT-SN 1.2 §6.1: SEARCHGW is Length 3, type 0x01, Radius. The front end is the gateway the
    // devices see; it answers while it has somewhere to send them.
    if (msg.length === 3 && msg[0] === 3 && msg[1] === MSG_SEARCHGW) {
      if (health.anyUp()) {
        stats.searchGwAnswered++;
        send(Buffer.from([3, 0x02, gwId]), port, address);
      }
      return;
    }
    // 1.2 defines no encapsulation inside an encapsulation (MQTT-SN.md §7): a forwarder must talk to an instance directly.
    if (isEncapsulated(msg)) {
      drop({ from: `${address}:${port}` }, 'front end: forwarder-encapsulated datagram dropped (a forwarder cannot be behind the front end)');
      return;
    }
    const nodeId = deviceNodeId(address, port);
    if (msg.length === 0 || msg.length + 3 + nodeId.length > maxWrapped) {
      drop({ from: `${address}:${port}`, size: msg.length }, 'front end: datagram empty or too large to wrap');
      return;
    }
    const n = route(nodeId, `${address}|${port}`);
    const to = instances[n]!;
    stats.toInstances[n]!++;
    send(encapsulate(nodeId, msg), to.port, to.host);
  };

  socket.on('message', (msg, rinfo) => {
    const n = byAddress.get(`${rinfo.address}|${rinfo.port}`);
    if (n !== undefined) fromInstance(n, msg);
    else fromDevice(msg, rinfo.address, rinfo.port);
  });
  socket.on('error', (err) => log.warn({ err: err.message }, 'front end: socket error'));

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });

  // One socket per instance for the probes, connected to it: only a connected UDP socket hears of
  // the ICMP port unreachable its datagrams meet (the instance's process is gone). Its GWINFO
  // comes back to the same socket (MQTT-SN 1.2 §6.1: a gateway answers SEARCHGW to its sender).
  const opened = await Promise.allSettled(instances.map((i, n) => openProber(family, host, i, (err) => refused(n, err), () => health.heardFrom(n))));
  const probers = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    for (const p of probers) p.close();
    socket.close();
    throw failed.reason;
  }
  function refused(n: number, err: NodeJS.ErrnoException): void {
    if (err.code !== undefined && UNREACHABLE.has(err.code)) {
      stats.probesRefused++;
      health.refusedBy(n);
    } else log.debug({ instance: instances[n]!.name, err: err.message }, 'front end: probe socket error');
  }
  const probe = Buffer.from([3, MSG_SEARCHGW, 0]);
  const probeAll = (): void => {
    health.tick();
    affinity.expire(Date.now());
    probers.forEach((p, n) =>
      p.send(probe, (err) => {
        if (err) refused(n, err);
      }),
    );
  };
  probeAll();
  const probeTimer = setInterval(probeAll, intervalMs);
  probeTimer.unref();

  let advertiseTimer: NodeJS.Timeout | undefined;
  const adv = o.advertise;
  if (adv !== undefined) {
    socket.setBroadcast(true);
    // MQTT-SN 1.2 §5.4.1: ADVERTISE is Length 5, type 0x00, GwId, Duration (seconds to the next one).
    const advertise = Buffer.from([5, MSG_ADVERTISE, gwId, adv.intervalSec >> 8, adv.intervalSec & 0xff]);
    const tick = (): void => {
      // With no instance alive the front end falls silent, so devices look for another gateway.
      if (health.anyUp()) send(advertise, adv.port, adv.address);
    };
    tick();
    advertiseTimer = setInterval(tick, adv.intervalSec * 1000);
    advertiseTimer.unref();
  }

  const bound = socket.address();
  log.info({ address: bound.address, port: bound.port, instances: instances.map((i) => i.name), probeIntervalMs: intervalMs }, 'front end listening');
  let closed: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    instancesUp: () => instances.map((_i, n) => health.up(n)),
    stats: () => ({ ...stats, toInstances: [...stats.toInstances], affinityEntries: affinity.size, affinityFull: affinity.full }),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(probeTimer);
        if (advertiseTimer !== undefined) clearInterval(advertiseTimer);
        for (const p of probers) p.close();
        socket.close(() => resolve());
      });
      return closed;
    },
  };
}

/** A UDP socket connected to one instance, for its probes; binding and connecting fail loudly. */
async function openProber(family: 4 | 6, host: string, to: FrontEndInstance, onError: (err: NodeJS.ErrnoException) => void, onMessage: () => void): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => s.connect(to.port, to.host, () => {
      s.off('error', reject);
      resolve();
    }));
  });
  s.on('error', onError);
  s.on('message', onMessage);
  return s;
}
