/**
 * Issue #18: a 1.2 and a 2.0 client on one gateway UDP port exchange messages at QoS 0, 1 and 2
 * in both directions through a real mosquitto, in aggregating and in transparent mode, each
 * client only ever receiving frames of its own version (test/helpers/strict-node.ts). In
 * transparent mode the 2.0 client's MQTT-BASIC user name and password are its own login at
 * mosquitto: mosquitto's ACL (`pattern write users/%u/#`) lets each user write only under its own
 * name, so a message arriving under users/alice/ was sent by a connection mosquitto knows as
 * "alice" (neither the device's client id nor the gateway's user). Defaults otherwise: the
 * shipped limits and timers, the in-process gateway of the bridge tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimError, UdpLink } from '../../firmware-sim/index.js';
import { ReasonCode } from '../../src/codec/v2/constants.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { strictNode, type StrictNode } from '../helpers/strict-node.js';
import { expectNothing, until } from '../helpers/wait.js';
import { isMarker, markerUp, mosquittoSuite, publisher, startBridgedGateway, watch, type BridgedGateway } from '../bridge/harness.js';
import type { ConnectOptions, ProtocolVersion } from '../../firmware-sim/node-types.js';

/** A connected node of `protocol` on its own UDP socket, closed by `cleanup`. */
async function udpNode(gw: BridgedGateway, protocol: ProtocolVersion, clientId: string, cleanup: Array<() => Promise<unknown>>, connect: ConnectOptions = {}): Promise<StrictNode> {
  const link = await UdpLink.open({ gateway: { host: '127.0.0.1', port: gw.udpPort, family: 4 } });
  const n = strictNode(link, protocol, { clientId });
  cleanup.push(() => n.node.close());
  await n.node.connect(connect);
  return n;
}

interface Route {
  /** where the sender publishes */
  pub: string;
  /** where the receiver subscribes (and gets it) */
  sub: string;
}

/**
 * The 1.2 node subscribes to `to12.sub`, the 2.0 node to `to20.sub` (QoS 2); each publishes QoS 0,
 * 1 and 2 to the other's `pub`. Both get all three, at the QoS sent, and nothing of the other version.
 */
async function exchange(n12: StrictNode, n20: StrictNode, to12: Route, to20: Route): Promise<void> {
  assert.equal((await n12.node.subscribe(to12.sub, 2)).grantedQos, 2);
  assert.equal((await n20.node.subscribe(to20.sub, 2)).grantedQos, 2);
  for (const qos of [0, 1, 2] as const) {
    // 2.0: the full Topic Name inside the PUBLISH [2.4]; 1.2: REGISTER first (§6.5).
    await n20.node.publish({ topicName: to12.pub, payload: `from 2.0 q${qos}`, qos });
    await n12.node.publish({ topic: to20.pub, payload: `from 1.2 q${qos}`, qos });
  }
  await until(() => n12.got.length >= 3 && n20.got.length >= 3, 10_000, 'three messages at each node');
  const seen = (s: StrictNode): unknown[] => s.got.map((m) => [m.topic, m.payload.toString(), m.qos]).sort();
  assert.deepEqual(seen(n12), [0, 1, 2].map((q) => [to12.sub, `from 2.0 q${q}`, q]));
  assert.deepEqual(seen(n20), [0, 1, 2].map((q) => [to20.sub, `from 1.2 q${q}`, q]));
  assert.deepEqual(n12.strays, [], 'the 1.2 client got only 1.2');
  assert.deepEqual(n20.strays, [], 'the 2.0 client got only 2.0');
}

describe('1.2 and 2.0 clients through mosquitto, aggregating mode', () => {
  const suite = mosquittoSuite();

  it('exchanges QoS 0, 1 and 2 both ways by way of mosquitto, each client hearing only its own version', async () => {
    // A relay on mosquitto sends what comes up under sn/up/ back down under sn/down/: the nodes
    // subscribe only to sn/down/, so what they get went through mosquitto (the broker core alone
    // never turns sn/up/ into sn/down/).
    const relay = (await suite.watcher('sn/up/#')).client;
    relay.on('message', (topic, payload, packet) => void relay.publishAsync(`sn/down/${topic.slice('sn/up/'.length)}`, payload, { qos: packet.qos }));
    const gw = await suite.gateway({
      topics: [
        { pattern: 'sn/up/#', direction: 'out', qos: 2 },
        { pattern: 'sn/down/#', direction: 'in', qos: 2 },
      ],
    });
    const n12 = await udpNode(gw, '1.2', 'agg-12', suite.cleanup);
    const n20 = await udpNode(gw, '2', 'agg-20', suite.cleanup);
    await exchange(n12, n20, { pub: 'sn/up/to12', sub: 'sn/down/to12' }, { pub: 'sn/up/to20', sub: 'sn/down/to20' });
  });
});

describe('1.2 and 2.0 clients through mosquitto, transparent mode, mosquitto judging the credentials', () => {
  let mosq: Mosquitto;
  let dir = '';
  const cleanup: Array<() => Promise<unknown>> = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-v2-acl-'));
    const acl = join(dir, 'acl');
    // Every user writes only under users/<its user name>/ and reads all of users/.
    await writeFile(acl, 'pattern write users/%u/#\npattern read users/#\nuser watcher\ntopic read #\n');
    mosq = await Mosquitto.start({ users: { alice: 'alice-pw', dev12: 'dev12-pw', gateway: 'gateway-pw', watcher: 'watcher-pw' }, extraConfig: [`acl_file ${acl}`] });
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await mosq.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The gateway's own login is "gateway"; the 1.2 device's comes from upstream.clients (1.2 carries none). */
  async function gateway(): Promise<BridgedGateway> {
    const gw = await startBridgedGateway(
      { url: mosq.url, mode: 'transparent', username: 'gateway', passwordEnv: 'GW_PW', clients: [{ clientId: 'tp-12', username: 'dev12', passwordEnv: 'DEV12_PW' }] },
      { GW_PW: 'gateway-pw', DEV12_PW: 'dev12-pw' },
    );
    cleanup.push(() => gw.close());
    await until(() => gw.bridge.connected, 10_000, "the gateway's own connection");
    return gw;
  }

  it("logs the 2.0 client in upstream under its MQTT-BASIC user name, and the two clients exchange QoS 0, 1 and 2", async () => {
    const gw = await gateway();
    const w = await watch(mosq.url, 'users/#', 2, { username: 'watcher', password: 'watcher-pw' });
    cleanup.push(() => w.close());
    const n12 = await udpNode(gw, '1.2', 'tp-12', cleanup);
    // Client id "tp-20", user "alice": only the user name can open users/alice/ to it.
    const n20 = await udpNode(gw, '2', 'tp-20', cleanup, { auth: { username: 'alice', password: 'alice-pw' } });
    await exchange(n12, n20, { pub: 'users/alice/to12', sub: 'users/alice/to12' }, { pub: 'users/dev12/to20', sub: 'users/dev12/to20' });
    // And the ACL is in force for alice: under another user's name mosquitto drops her message.
    await n20.node.publish({ topicName: 'users/dev12/spoofed', payload: 'not alice', qos: 1 });
    await expectNothing('a message alice may not write', () => markerUp(n20.node, w, 'users/alice/marker'), () => w.got.filter((m) => m.topic === 'users/dev12/spoofed'));
    assert.ok(w.got.some((m) => m.topic === 'users/alice/to12' && !isMarker(m.payload)), 'the watcher saw alice write');
    assert.deepEqual(gw.bridge.status().clients, { total: 2, connected: 2 });
  });

  it('publishes the will of the 2.0 CONNECT upstream when the client leaves with DISCONNECT 0x04', async () => {
    const gw = await gateway();
    const w = await watch(mosq.url, 'users/alice/status', 1, { username: 'watcher', password: 'watcher-pw' });
    cleanup.push(() => w.close());
    const n = await udpNode(gw, '2', 'tp-will', cleanup, { auth: { username: 'alice', password: 'alice-pw' }, will: { topic: 'users/alice/status', payload: 'tp-will gone', qos: 1 } });
    await n.node.disconnect({ withWill: true });
    await until(() => w.got.length > 0, 10_000, 'the will at mosquitto');
    assert.deepEqual(w.got.map((m) => [m.topic, m.payload, m.qos]), [['users/alice/status', 'tp-will gone', 1]]);
    assert.deepEqual(n.strays, []);
  });

  it("keeps mosquitto's session across a Clean Start 0 with a Session Expiry, and discards it on a Clean Start 1 with one", async () => {
    const gw = await gateway();
    const pub = await publisher(mosq.url, { username: 'alice', password: 'alice-pw', clientId: 'alice-publisher' });
    cleanup.push(() => pub.endAsync(true));
    const login = { auth: { username: 'alice', password: 'alice-pw' }, sessionExpiry: 3600 };
    const n = await udpNode(gw, '2', 'tp-keep', cleanup, { ...login, cleanSession: false });
    await n.node.subscribe('users/alice/kept', 1);
    const away = async (payload: string): Promise<void> => {
      await n.node.disconnect();
      await until(() => gw.bridge.status().clients?.total === 0, 10_000, 'the upstream connection closed');
      // Queued by mosquitto for the kept session (clean session 0) while the device is away.
      await pub.publishAsync('users/alice/kept', payload, { qos: 1 });
    };
    await away('while away 1');
    await n.node.connect({ ...login, cleanSession: false });
    await until(() => n.got.length === 1, 10_000, 'the message kept for the session');
    assert.equal(n.got[0]?.payload.toString(), 'while away 1');

    await away('while away 2');
    // Clean Start 1, Session Expiry 3600: MQTT 3.1.1 cannot say "start clean, keep it after"; the
    // gateway opens a clean session first, so mosquitto forgets the subscription and its queue.
    await n.node.connect({ ...login, cleanSession: true });
    await n.node.subscribe('users/alice/after', 1);
    // mosquitto sends what it kept for a session right after CONNACK: it would be here before this.
    await pub.publishAsync('users/alice/after', 'barrier', { qos: 1 });
    await until(() => n.got.some((m) => m.payload.toString() === 'barrier'), 10_000, 'the barrier');
    assert.deepEqual(n.got.map((m) => m.payload.toString()), ['while away 1', 'barrier']);
    assert.deepEqual(n.strays, []);
  });

  it('answers a password mosquitto refuses with CONNACK 0x87 (its MQTT 3.1.1 CONNACK 5), keeps no session and says why in the log', async () => {
    const gw = await gateway();
    const link = await UdpLink.open({ gateway: { host: '127.0.0.1', port: gw.udpPort, family: 4 } });
    const n = strictNode(link, '2', { clientId: 'tp-bad' });
    cleanup.push(() => n.node.close());
    const err = await n.node.connect({ auth: { username: 'alice', password: 'wrong' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SimError, String(err));
    // mosquitto 2 answers a wrong password with CONNACK 5 "not authorised", never 4 (checked with
    // mosquitto 2.0.11); 4 would be 0x86 (test/bridge/transparent-v2.test.ts).
    assert.equal(err.returnCode, ReasonCode.NOT_AUTHORIZED);
    assert.equal(gw.running.gateway.sessions.has('tp-bad'), false);
    assert.deepEqual(gw.bridge.status().clients, { total: 0, connected: 0 });
    const line = gw.logs.find((l) => l.msg.startsWith('CONNECT refused') && l.obj.clientId === 'tp-bad');
    assert.ok(line, JSON.stringify(gw.logs.map((l) => l.msg)));
    assert.deepEqual([line.obj.connack, line.obj.username, line.obj.outcome], ['0x87', 'alice', 'notAuthorized']);
    assert.deepEqual(n.strays, []);
  });
});
