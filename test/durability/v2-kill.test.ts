/**
 * Issue #18: a 2.0 session survives `kill -9` like a 1.2 one.
 *
 * The gateway CLI on the shipped defaults (the shipped gateway.config.json's sections on free
 * ports, so the store is the default SQLite file next to the config), plus the HTTP section to read
 * /api/sessions and /metrics. In its first life a 2.0 client (Clean Start 0, Session Expiry
 * Interval 3600) subscribes at QoS 1 and sleeps, another disconnects, a 1.2 client (clean session
 * false) sleeps, and a 2.0 client with a 5 s interval disconnects; QoS 1 messages for them are
 * acknowledged (so on disk), then the gateway gets SIGKILL. Started again on the same file:
 *
 * - the 2.0 sleeper wakes with a 2.0 PINGREQ and gets every message, REGISTER, PUBLISH and PINGRESP
 *   in 2.0 bytes (each frame decodes as 2.0 and is the 2.0 encoding of what it decodes to), on the
 *   alias of its SUBACK; the absent 2.0 client's CONNECT with Clean Start 0 finds its session
 *   present and gets its messages in 2.0; the 1.2 sleeper gets its messages in 1.2;
 * - /api/sessions and mqttsn_sessions_by_version show the restored sessions with their versions;
 * - the 2.0 session whose 5 s ran out while the gateway was down is gone, counted from its
 *   DISCONNECT, not from the restart (limits.sessionExpirySec, 7 days, would have kept it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v2 from '../../src/codec/v2/index.js';
import { GatewayChild, writeConfig } from '../cli/cli-process.js';
import { scaled } from '../helpers/time-scale.js';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { Sn2Client } from '../integration/sn2-client.js';
import { getJson, scrape, valueOf } from '../observability/helpers.js';
import { until as waitFor } from '../helpers/wait.js';
import { drainWake, publishQos1, register, subscribe, until } from './sn.js';

interface SessionView {
  clientId: string;
  version: string;
  state: string;
  sessionExpirySec: number | null;
  queued: number;
  lastSeen: string | null;
}

function connect2(clientId: string, packetId: number, sessionExpiryInterval: number): v2.PacketOf<'CONNECT'> {
  return { type: 'CONNECT', cleanStart: false, allowNetworkAddressChanges: false, allowServerSuggestedValues: false, packetId, protocolVersion: 2, keepAlive: 60, maxPacketSize: 0, clientId, sessionExpiryInterval };
}

/**
 * Answers what the gateway sends a 2.0 client (REGACK to REGISTER, PUBACK to PUBLISH) until
 * `done` says so; returns the PUBLISHes in arrival order.
 */
async function receive2(c: Sn2Client, done: (got: v2.Packet[]) => boolean, what: string): Promise<v2.PacketOf<'PUBLISH'>[]> {
  const seen: v2.Packet[] = [];
  await until(
    what,
    () => {
      for (const p of c.got.splice(0)) {
        seen.push(p);
        if (p.type === 'REGISTER') c.send({ type: 'REGACK', topicType: 'session', packetId: p.packetId, topicAlias: p.topicAlias ?? 0 });
        if (p.type === 'PUBLISH' && p.packetId !== undefined) c.send({ type: 'PUBACK', packetId: p.packetId });
      }
      return done(seen);
    },
    scaled(15_000),
  );
  return seen.filter((p): p is v2.PacketOf<'PUBLISH'> => p.type === 'PUBLISH');
}

/** Every frame the 2.0 client got is 2.0: it decodes as 2.0 and is exactly the 2.0 encoding of what it decodes to. */
function assertAll2(c: Sn2Client, who: string): void {
  assert.deepEqual(c.notV2, [], `${who}: frames that are not 2.0`);
  for (const hex of c.frames) {
    const p = v2.decode(Buffer.from(hex, 'hex'));
    assert.ok(!(p instanceof v2.DecodeError));
    assert.equal(v2.encode(p).toString('hex'), hex, `${who}: ${p.type} is not in the 2.0 layout`);
  }
}

describe('durability: 2.0 and 1.2 sessions across SIGKILL, restart on the same file', () => {
  let dir: string;
  let gw: GatewayChild | undefined;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-v2-kill-'));
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a 2.0 sleeper and an absent 2.0 client get every message in 2.0, a 1.2 sleeper in 1.2; an expired 2.0 session is gone', { timeout: scaled(120_000) }, async () => {
    const udpPort = await freeUdpPort();
    const httpPort = await freeTcpPort();
    const config = await writeConfig(dir, 'gateway.config.json', {
      gatewayId: 1,
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [{ host: '127.0.0.1', port: await freeTcpPort() }] },
      http: { host: '127.0.0.1', port: httpPort },
    });
    const open2 = async (): Promise<Sn2Client> => {
      const c = await Sn2Client.open(udpPort);
      closers.push(() => c.close());
      return c;
    };
    const open12 = async (): Promise<SnClient> => {
      const c = await SnClient.open(udpPort);
      closers.push(() => c.close());
      return c;
    };

    // ── first life ──────────────────────────────────────────────────────────────────────────
    gw = await GatewayChild.start(config);

    const sleeper2 = await open2();
    sleeper2.send(connect2('v2-sleeper', 1, 3600));
    assert.equal((await sleeper2.next('CONNACK')).reasonCode, 0);
    sleeper2.send({ type: 'SUBSCRIBE', noLocal: false, qos: 1, retainAsPublished: false, retainHandling: 0, packetId: 2, topicType: 'filter', topicFilter: 'v2kill/sleeper' });
    const sleeperAlias = (await sleeper2.next('SUBACK')).topicAlias;
    sleeper2.send({ type: 'SLEEPREQ', packetId: 3, sleepDuration: 300, retainTopicAliases: true });
    await sleeper2.next('SLEEPRESP');

    const away2 = await open2();
    away2.send(connect2('v2-away', 1, 3600));
    assert.equal((await away2.next('CONNACK')).reasonCode, 0);
    away2.send({ type: 'SUBSCRIBE', noLocal: false, qos: 1, retainAsPublished: false, retainHandling: 0, packetId: 2, topicType: 'filter', topicFilter: 'v2kill/away' });
    await away2.next('SUBACK');
    away2.send({ type: 'DISCONNECT' });

    const sleeper12 = await open12();
    await sleeper12.connect('v12-sleeper', { cleanSession: false });
    await subscribe(sleeper12, 'v2kill/old', 1, 1);
    sleeper12.send({ type: 'DISCONNECT', duration: 300 });
    await sleeper12.next('DISCONNECT');

    // QoS 1 messages for all three, each PUBACKed only once it is in the file.
    const pub = await open12();
    await pub.connect('v2kill-pub');
    const ids = { sleeper: await register(pub, 'v2kill/sleeper', 1), away: await register(pub, 'v2kill/away', 2), old: await register(pub, 'v2kill/old', 3) };
    let msgId = 10;
    for (let i = 1; i <= 3; i++) {
      for (const [name, topicId] of Object.entries(ids)) await publishQos1(pub, topicId, ++msgId, `${name}-${i}`);
    }

    // A 2.0 session of 5 s, absent from now; the next PUBACK means its record is in the file too
    // (the gateway takes its datagrams in order, and a flush covers every write before it).
    const short2 = await open2();
    short2.send(connect2('v2-short', 1, 5));
    assert.equal((await short2.next('CONNACK')).reasonCode, 0);
    short2.send({ type: 'DISCONNECT' });
    const shortGone = Date.now();
    await publishQos1(pub, ids.old, ++msgId, 'old-4');

    gw.signal('SIGKILL');
    assert.equal(await gw.exitCode(), null, 'killed, not exited');
    // Down until the short session's interval has run out, counted from its DISCONNECT.
    await until('the short session interval over', () => Date.now() - shortGone > 6000, 10_000);

    // ── second life, same file, same ports ──────────────────────────────────────────────────
    const restartedAt = Date.now();
    gw = await GatewayChild.start(config);
    assert.ok(gw.lines.some((l) => l.includes('sessions restored from the store')), 'sessions come back from the file');

    // The short session expires at once: its client was last heard over 6 s ago.
    const sessionsNow = async (): Promise<SessionView[]> => ((await getJson(httpPort, '/api/sessions')).body as { sessions: SessionView[] }).sessions;
    let sessions: SessionView[] = [];
    await waitFor(async () => !(sessions = await sessionsNow()).some((s) => s.clientId === 'v2-short'), scaled(10_000), 'v2-short expired after the restart', 100);
    assert.deepEqual(
      sessions.map((s) => [s.clientId, s.version, s.state, s.sessionExpirySec, s.queued]),
      [
        ['v12-sleeper', '1.2', 'asleep', null, 4],
        ['v2-away', '2.0', 'disconnected', 3600, 3],
        ['v2-sleeper', '2.0', 'asleep', 3600, 3],
      ],
    );
    // The absent client was last heard in the first life (its DISCONNECT), and the API says so.
    const awaySeen = Date.parse(sessions.find((s) => s.clientId === 'v2-away')?.lastSeen ?? '');
    assert.ok(awaySeen < restartedAt, `v2-away last seen ${new Date(awaySeen).toISOString()}, before the restart`);
    const metrics = await scrape(httpPort);
    assert.equal(valueOf(metrics.samples, 'mqttsn_sessions_by_version', { version: '2.0' }), 2);
    assert.equal(valueOf(metrics.samples, 'mqttsn_sessions_by_version', { version: '1.2' }), 1);

    // The 2.0 sleeper wakes with a 2.0 PINGREQ: REGISTER, its messages, PINGRESP, all 2.0.
    sleeper2.send({ type: 'PINGREQ', packetId: 0x42 });
    const woke2 = await receive2(sleeper2, (got) => got.some((p) => p.type === 'PINGRESP'), 'the 2.0 sleeper woken, up to PINGRESP');
    assert.deepEqual(woke2.map((p) => p.payload.toString()), ['sleeper-1', 'sleeper-2', 'sleeper-3']);
    for (const p of woke2) assert.deepEqual([p.qos, p.topicType, 'topicAlias' in p ? p.topicAlias : -1], [1, 'session', sleeperAlias]);
    assertAll2(sleeper2, 'the 2.0 sleeper');

    // The absent 2.0 client comes back with Clean Start 0: its session is present, its messages follow.
    away2.send(connect2('v2-away', 7, 3600));
    const back = await away2.next('CONNACK');
    assert.deepEqual([back.reasonCode, back.sessionPresent, back.packetId], [0, true, 7]);
    const got2 = await receive2(away2, (got) => got.filter((p) => p.type === 'PUBLISH').length >= 3, 'the 2.0 client reconnected, three messages');
    assert.deepEqual(got2.map((p) => p.payload.toString()), ['away-1', 'away-2', 'away-3']);
    assertAll2(away2, 'the reconnected 2.0 client');

    // The 1.2 sleeper wakes as a 1.2 client: everything it gets decodes as 1.2.
    sleeper12.send({ type: 'PINGREQ', clientId: 'v12-sleeper' });
    const woke12 = await drainWake(sleeper12);
    assert.deepEqual(woke12.map((p) => p.payload.toString()), ['old-1', 'old-2', 'old-3', 'old-4']);
    assert.deepEqual(sleeper12.badFrames, [], 'the 1.2 sleeper got only 1.2');

    // The expired one starts anew.
    short2.send(connect2('v2-short', 2, 5));
    assert.equal((await short2.next('CONNACK')).sessionPresent, false);
    assertAll2(short2, 'the short-lived 2.0 client');

    gw.signal('SIGINT');
    assert.equal(await gw.exitCode(), 0);
  });
});
