/**
 * What a simulated device does with its node: periodic sensors, sleepy battery sensors, event
 * sensors, actuators and their controller, QoS -1 beacons, and a node that misbehaves on
 * purpose. Payloads look like real readings; every publish carries a `seq` (and the sender's id
 * where the topic does not name it) so a subscriber can tell loss and duplicates end to end.
 */
import type { Clock } from '../src/clock.js';
import type { QoS, SubQoS } from '../src/codec/index.js';
import { SimError, SimErrorCode } from './errors.js';
import type { SimMessage, SimNode } from './node.js';
import type { RunStats } from './stats.js';
import type { Credentials } from './wire/index.js';

export interface ProfileContext {
  node: SimNode;
  /** 0-based number of the node in the run */
  index: number;
  clientId: string;
  clock: Clock;
  random: () => number;
  /** aborts when the run ends: the profile returns soon after */
  signal: AbortSignal;
  /** QoS of the profile's readings (profiles with a fixed QoS ignore it) */
  qos: QoS;
  /** publishes per second per node (the mean, for event-driven profiles) */
  rate: number;
  topicPrefix: string;
  keepAlive: number;
  cleanSession: boolean;
  /** connect with a will `<prefix>/<id>/status` = `offline` */
  will: boolean;
  /** sleepy profile: seconds asleep between wake-ups */
  sleepSec: number;
  /** beacon profile: the predefined topic id it publishes on */
  predefinedId: number;
  /** 2.0 nodes: MQTT-BASIC credentials in CONNECT */
  auth?: Credentials;
  /** 2.0 nodes: Session Expiry Interval, seconds */
  sessionExpiry?: number;
  stats?: RunStats;
  /** publishes left for the whole run, shared by its nodes (`--count`); unlimited when absent */
  budget?: { left: number };
}

export interface Profile {
  readonly name: ProfileName;
  readonly description: string;
  run(ctx: ProfileContext): Promise<void>;
}

export type ProfileName = 'temperature' | 'sleepy' | 'door' | 'actuator' | 'controller' | 'beacon' | 'misbehaving';

// ------------------------------------------------------------------ helpers

/** Waits `ms` on the run's clock; resolves false at once when the run is over. */
export function wait(ctx: Pick<ProfileContext, 'clock' | 'signal'>, ms: number): Promise<boolean> {
  if (ctx.signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = ctx.clock.setTimeout(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The interval to the next periodic publish: 1/rate with ±10 % jitter, so nodes drift apart as real ones do. */
const period = (ctx: ProfileContext): number => (1000 / Math.max(ctx.rate, 1e-6)) * (0.9 + 0.2 * ctx.random());

/** An exponential gap: events at a mean `rate` per second (a Poisson process). */
const eventGap = (ctx: ProfileContext): number => (-Math.log(1 - ctx.random()) * 1000) / Math.max(ctx.rate, 1e-6);

const round1 = (v: number): number => Math.round(v * 10) / 10;

/** The key a subscriber recomputes from topic and payload to match a delivery to its publish. */
export function deliveryKey(topic: string, payload: Buffer | string): string | undefined {
  try {
    const o = JSON.parse(payload.toString()) as { seq?: unknown; from?: unknown };
    if (typeof o.seq !== 'number') return undefined;
    return `${topic}#${typeof o.from === 'string' ? o.from : ''}#${o.seq}`;
  } catch {
    return undefined;
  }
}

/** Connects, retrying while the run lasts; false when the run ended first. */
export async function connectWithRetry(ctx: ProfileContext, cleanSession = ctx.cleanSession): Promise<boolean> {
  let delay = 500;
  while (!ctx.signal.aborted) {
    try {
      await ctx.node.connect({
        clientId: ctx.clientId,
        cleanSession,
        keepAlive: ctx.keepAlive,
        will: ctx.will ? { topic: `${ctx.topicPrefix}/${ctx.clientId}/status`, payload: 'offline', qos: 1, retain: true } : undefined,
        auth: ctx.auth,
        sessionExpiry: ctx.sessionExpiry,
      });
      return true;
    } catch (err) {
      if (err instanceof SimError && err.code === SimErrorCode.CLOSED) return false;
      if (!(await wait(ctx, delay * (0.5 + ctx.random())))) return false;
      delay = Math.min(delay * 2, 10_000);
    }
  }
  return false;
}

/** Waits until the node is active again (it reconnects by itself after a loss). */
async function untilActive(ctx: ProfileContext): Promise<boolean> {
  while (ctx.node.state !== 'active') {
    if (ctx.node.state === 'closed') return false;
    if (ctx.node.state === 'disconnected') return connectWithRetry(ctx);
    if (!(await wait(ctx, 200))) return false;
  }
  return true;
}

/**
 * The sensor loop: connects, then after every `gap()` (waiting out a reconnect) publishes a
 * reading on `<prefix>/<id>/<name>`. `readings` runs once connected (its random draws come after
 * the connect's, as they always did) and gives what makes each reading.
 */
async function everyGap(ctx: ProfileContext, name: string, gap: () => number, readings: () => () => Record<string, unknown>, qos: QoS, retain = false): Promise<void> {
  if (!(await connectWithRetry(ctx))) return;
  const topic = `${ctx.topicPrefix}/${ctx.clientId}/${name}`;
  const reading = readings();
  let seq = 0;
  while (await wait(ctx, gap())) {
    if (!(await untilActive(ctx))) return;
    await emit(ctx, ++seq, { topic }, reading(), qos, retain);
  }
}

/**
 * Listens for messages, subscribes to `filter` at QoS 1, then runs `body`; a failed subscribe
 * ends the profile quietly (the run report shows it), and the listener goes with the run.
 */
async function listening(ctx: ProfileContext, filter: string, onMessage: (m: SimMessage) => void, body: () => Promise<void>): Promise<void> {
  const off = ctx.node.on('message', onMessage);
  try {
    await ctx.node.subscribe(filter, 1);
    await body();
  } catch {
    /* subscribe failed: the run report shows it */
  } finally {
    off();
  }
}

/**
 * Publishes a JSON reading with the next `seq` and tells the run's statistics what a
 * subscriber should expect. Failures are counted by the node's observer, not thrown: a real
 * sensor logs and carries on.
 */
export async function emit(
  ctx: ProfileContext,
  seq: number,
  target: { topic: string } | { predefinedId: number },
  body: Record<string, unknown>,
  qos: QoS,
  retain = false,
): Promise<boolean> {
  if (ctx.budget) {
    if (ctx.budget.left <= 0) return false;
    ctx.budget.left--;
  }
  const payload = JSON.stringify({ ...body, seq });
  const key = 'topic' in target ? deliveryKey(target.topic, payload) : undefined;
  if (key !== undefined) ctx.stats?.published(key, qos >= 1);
  try {
    await ctx.node.publish({ ...target, payload, qos, retain });
    return true;
  } catch {
    if (key !== undefined) ctx.stats?.abandoned(key);
    return false;
  }
}

// ------------------------------------------------------------------ profiles

const temperature: Profile = {
  name: 'temperature',
  description: 'periodic temperature/humidity sensor: {"t":21.4,"h":40.2,"bat":87} at --rate per node, --qos',
  async run(ctx) {
    const readings = (): (() => Record<string, unknown>) => {
      let t = 18 + 6 * ctx.random();
      let h = 35 + 20 * ctx.random();
      let bat = 100;
      return () => {
        t += (ctx.random() - 0.5) * 0.4;
        h = Math.min(99, Math.max(5, h + (ctx.random() - 0.5)));
        if (ctx.random() < 0.01) bat = Math.max(0, bat - 1);
        return { t: round1(t), h: round1(h), bat };
      };
    };
    await everyGap(ctx, 'temperature', () => period(ctx), readings, ctx.qos);
  },
};

const sleepy: Profile = {
  name: 'sleepy',
  description: 'battery sensor: connect, publish one reading, sleep --sleep s (the gateway buffers), wake to collect, repeat',
  async run(ctx) {
    const topic = `${ctx.topicPrefix}/${ctx.clientId}/reading`;
    let bat = 100;
    let seq = 0;
    // Clean=0: the subscription and buffered messages must survive the sleep cycles (§4.12).
    if (!(await connectWithRetry(ctx, false))) return;
    try {
      await ctx.node.subscribe(`${ctx.topicPrefix}/${ctx.clientId}/config`, 1);
    } catch {
      /* the readings matter more than the config channel */
    }
    while (!ctx.signal.aborted) {
      if (ctx.node.state !== 'active' && !(await connectWithRetry(ctx, false))) return;
      bat = Math.max(0, bat - 0.1);
      await emit(ctx, ++seq, { topic }, { t: round1(15 + 10 * ctx.random()), bat: Math.round(bat), v: round1(2.7 + bat / 200) }, ctx.qos);
      try {
        await ctx.node.sleep(Math.max(1, Math.round(ctx.sleepSec)));
      } catch {
        continue;
      }
      if (!(await wait(ctx, ctx.sleepSec * 1000))) return;
      try {
        await ctx.node.wake();
      } catch {
        /* lost while asleep: the next connect finds out */
      }
    }
  },
};

const door: Profile = {
  name: 'door',
  description: 'door contact: {"open":true} at QoS 1, retained, on random events (mean --rate per node)',
  async run(ctx) {
    let open = false;
    const reading = (): Record<string, unknown> => ({ open: (open = !open), bat: 90 });
    await everyGap(ctx, 'door', () => eventGap(ctx), () => reading, 1, true);
  },
};

const actuator: Profile = {
  name: 'actuator',
  description: 'relay/dimmer: subscribes to <prefix>/<id>/set, applies {"on":..,"level":..}, reports state at QoS 1 (and every 1/--rate s)',
  async run(ctx) {
    if (!(await connectWithRetry(ctx))) return;
    const stateTopic = `${ctx.topicPrefix}/${ctx.clientId}/state`;
    const state = { on: false, level: 0 };
    let seq = 0;
    const report = (): Promise<boolean> => emit(ctx, ++seq, { topic: stateTopic }, { ...state }, 1, true);
    const onCommand = (m: SimMessage): void => {
      try {
        const cmd = JSON.parse(m.payload.toString()) as { on?: unknown; level?: unknown };
        if (typeof cmd.on === 'boolean') state.on = cmd.on;
        if (typeof cmd.level === 'number') state.level = Math.max(0, Math.min(100, Math.round(cmd.level)));
      } catch {
        return;
      }
      void report();
    };
    await listening(ctx, `${ctx.topicPrefix}/${ctx.clientId}/set`, onCommand, async () => {
      await report();
      while (await wait(ctx, period(ctx))) {
        if (!(await untilActive(ctx))) return;
        await report();
      }
    });
  },
};

const controller: Profile = {
  name: 'controller',
  description: 'commands actuators: learns them from <prefix>/+/state and sends {"on":..,"level":..} at --rate, --qos',
  async run(ctx) {
    if (!(await connectWithRetry(ctx))) return;
    const known: string[] = [];
    const learn = (m: SimMessage): void => {
      const id = m.topic?.split('/').at(-2);
      if (id !== undefined && m.topic?.endsWith('/state') === true && !known.includes(id)) known.push(id);
    };
    let seq = 0;
    await listening(ctx, `${ctx.topicPrefix}/+/state`, learn, async () => {
      while (await wait(ctx, period(ctx))) {
        if (known.length === 0) continue;
        if (!(await untilActive(ctx))) return;
        const id = known[Math.floor(ctx.random() * known.length)]!;
        await emit(ctx, ++seq, { topic: `${ctx.topicPrefix}/${id}/set` }, { on: ctx.random() < 0.5, level: Math.round(ctx.random() * 100), from: ctx.clientId }, ctx.qos);
      }
    });
  },
};

const beacon: Profile = {
  name: 'beacon',
  description: 'fire-and-forget beacon: QoS -1 on predefined topic --predefined-id, no connection at all (§4.8)',
  async run(ctx) {
    let seq = 0;
    let bat = 100;
    while (await wait(ctx, period(ctx))) {
      if (ctx.random() < 0.005) bat = Math.max(0, bat - 1);
      await emit(ctx, ++seq, { predefinedId: ctx.predefinedId }, { id: ctx.clientId, rssi: -40 - Math.round(ctx.random() * 50), bat }, -1);
    }
  },
};

/** What the misbehaving node sends, one kind per step. */
const MISCHIEF = ['garbage', 'truncated', 'lengthMismatch', 'reservedType', 'publishUnconnected', 'flood', 'oversize', 'badUtf8'] as const;

const misbehaving: Profile = {
  name: 'misbehaving',
  description: 'robustness: random garbage, truncated frames, wrong lengths, reserved types, PUBLISH before CONNECT, ping floods',
  async run(ctx) {
    const { node } = ctx;
    // Bent frames of the node's own version, so a 2.0 node misbehaves in 2.0.
    const wire = node.wire;
    const connectOf = (clientId: string): Buffer =>
      wire.encode({ type: 'CONNECT', clientId, cleanStart: true, keepAlive: 30, will: undefined, sessionExpiry: undefined, auth: undefined, msgId: 1 });
    const connect = connectOf(ctx.clientId);
    while (await wait(ctx, period(ctx))) {
      const what = MISCHIEF[Math.floor(ctx.random() * MISCHIEF.length)]!;
      switch (what) {
        case 'garbage': {
          const b = Buffer.alloc(1 + Math.floor(ctx.random() * 40));
          for (let i = 0; i < b.length; i++) b[i] = Math.floor(ctx.random() * 256);
          node.sendRaw(b);
          break;
        }
        case 'truncated':
          node.sendRaw(connect.subarray(0, 1 + Math.floor(ctx.random() * (connect.length - 1))));
          break;
        case 'lengthMismatch': {
          const b = Buffer.from(connect);
          b[0] = b[0]! + 1 + Math.floor(ctx.random() * 5);
          node.sendRaw(b);
          break;
        }
        case 'reservedType':
          node.sendRaw(Buffer.from([2, wire.reservedTypes[Math.floor(ctx.random() * wire.reservedTypes.length)]!]));
          break;
        case 'publishUnconnected':
          node.sendRaw(
            wire.encode({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1 + Math.floor(ctx.random() * 65535), topic: { topicIdType: 'normal', topicId: 1 + Math.floor(ctx.random() * 100) }, payload: Buffer.from('{"x":1}') }),
          );
          break;
        case 'flood':
          for (let i = 0; i < 50; i++) node.sendRaw(wire.encode({ type: 'PINGREQ', msgId: 1 + i }));
          break;
        case 'oversize': {
          // A 3-byte length announcing more than is sent.
          const b = Buffer.alloc(600, 0x41);
          b[0] = 0x01;
          b.writeUInt16BE(2000, 1);
          b[3] = 0x0c;
          node.sendRaw(b);
          break;
        }
        case 'badUtf8': {
          // The client id ends a CONNECT in both versions: its last two bytes become invalid UTF-8.
          const b = connectOf('xx');
          b[b.length - 2] = 0xc3;
          b[b.length - 1] = 0x28;
          node.sendRaw(b);
          break;
        }
      }
      ctx.stats?.count(`misbehave.${what}`);
    }
  },
};

export const profiles: Readonly<Record<ProfileName, Profile>> = { temperature, sleepy, door, actuator, controller, beacon, misbehaving };

export const PROFILE_NAMES = Object.keys(profiles) as ProfileName[];

export function isProfileName(s: string): s is ProfileName {
  return Object.hasOwn(profiles, s);
}

/** QoS of subscriptions made by observers: at least what publishers use, capped at 2. */
export const subQos = (q: QoS): SubQoS => (q === -1 ? 0 : q);
