/**
 * The stateless front end in front of three real gateway processes (aggregating mode) on
 * 127.0.0.1, with the shipped health defaults: devices spread over the instances, each instance
 * sees the device's real address (in /api/sessions, and its allow-list holds it to it), an
 * instance stopped (SIGSTOP) for longer than a killed one takes to leave the hash keeps its
 * devices, and when one instance is killed with SIGKILL its devices get DISCONNECT from another
 * one, CONNECT again there, and nobody else moves.
 */
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { startFrontEnd, type RunningFrontEnd } from '../../src/frontend/front-end.js';
import { freeTcpPort, freeUdpPort, SnClient, startGateway, type GatewayProcess } from '../integration/gateway-process.js';
import { getJson } from '../observability/helpers.js';
import { scaled } from '../helpers/time-scale.js';
import { until } from '../helpers/wait.js';

const DEVICES = Array.from({ length: 18 }, (_v, i) => `dev-${String(i).padStart(2, '0')}`);

interface Instance {
  gw: GatewayProcess;
  httpPort: number;
}

type Sessions = { sessions: Array<{ clientId: string; peer: string | null; state: string }> };

/** clientId -> peer key of every session an instance holds. */
async function sessionsOf(i: Instance): Promise<Map<string, string | null>> {
  const r = await getJson(i.httpPort, '/api/sessions?limit=1000');
  assert.equal(r.status, 200);
  return new Map((r.body as Sessions).sessions.filter((s) => s.state === 'active').map((s) => [s.clientId, s.peer]));
}

/** Which instance (index) holds each active client. */
async function placement(instances: readonly Instance[]): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (const [n, i] of instances.entries()) {
    for (const id of (await sessionsOf(i)).keys()) {
      assert.equal(where.get(id), undefined, `${id} is on two instances`);
      where.set(id, n);
    }
  }
  return where;
}

describe('front end: three gateway instances behind it', () => {
  let fePort: number;
  let fe: RunningFrontEnd;
  const instances: Instance[] = [];
  const devices = new Map<string, SnClient>();

  before(async () => {
    fePort = await freeUdpPort();
    const auth = { clients: [...DEVICES.map((clientId) => ({ clientId })), { clientId: 'fenced', peers: ['udp:127.0.0.2/32'] }] };
    for (let n = 0; n < 3; n++) {
      const httpPort = await freeTcpPort();
      const gw = await startGateway({ http: { port: httpPort }, auth }, { udpFields: { frontEnds: [`127.0.0.1:${fePort}`] }, logLevel: 'warn' });
      instances.push({ gw, httpPort });
    }
    // The shipped health defaults: probed every second, out after 3 silent intervals.
    fe = await startFrontEnd({ host: '127.0.0.1', port: fePort, instances: instances.map((i) => ({ host: '127.0.0.1', port: i.gw.udpPort })), gatewayId: 9 });
  });

  after(async () => {
    for (const d of devices.values()) await d.close();
    await fe?.close();
    for (const i of instances) await i.gw.stop();
  });

  it('answers SEARCHGW itself with its own GwId', async () => {
    const d = await SnClient.open(fePort);
    d.send({ type: 'SEARCHGW', radius: 0 });
    assert.equal((await d.next('GWINFO')).gwId, 9);
    await d.close();
  });

  it("spreads devices over the instances, each of which sees the device's own address and port", async () => {
    for (const id of DEVICES) {
      const d = await SnClient.open(fePort);
      await d.connect(id, { cleanSession: false });
      devices.set(id, d);
    }
    const where = await placement(instances);
    assert.deepEqual([...where.keys()].sort(), DEVICES);
    const used = new Set(where.values());
    assert.ok(used.size >= 2, `18 devices all on one instance: ${JSON.stringify([...where])}`);
    for (const [n, i] of instances.entries()) {
      for (const [id, peer] of await sessionsOf(i)) {
        assert.equal(peer, `udp:127.0.0.1:${devices.get(id)!.socket.address().port}/fe:127.0.0.1:${fePort}`, `${id} on instance ${n}`);
      }
    }
    assert.deepEqual(fe.stats().toInstances.map((x) => x > 0), instances.map((_i, n) => used.has(n)));
  });

  it("holds a device to the allow-list by its own address, not the front end's", async () => {
    const wrong = await SnClient.open(fePort); // 127.0.0.1, the front end's own address
    wrong.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'fenced' });
    assert.equal((await wrong.next('CONNACK')).returnCode, 3, 'refused: 127.0.0.1 is not 127.0.0.2');
    await wrong.close();
    const right = await SnClient.open(fePort, '127.0.0.1', '127.0.0.2');
    await right.connect('fenced');
    devices.set('fenced', right);
    const peers = await Promise.all(instances.map(async (i) => (await sessionsOf(i)).get('fenced')));
    assert.deepEqual(peers.filter((p) => p !== undefined), [`udp:127.0.0.2:${right.socket.address().port}/fe:127.0.0.1:${fePort}`]);
  });

  it('keeps a stalled instance and its devices: stopped (SIGSTOP) for 5 s, past the 4 s a killed one takes to leave, nobody moves', async () => {
    const before = await placement(instances);
    const counts = instances.map((_i, n) => [...before.values()].filter((x) => x === n).length);
    const victim = counts.indexOf(Math.max(...counts));
    const stalled = [...before].filter(([, n]) => n === victim).map(([id]) => id);
    const gw = instances[victim]!.gw;
    let wentOut = false;
    const sampler = setInterval(() => (wentOut ||= !fe.instancesUp()[victim]!), 50);
    gw.proc.kill('SIGSTOP');
    try {
      try {
        // The stall is the condition under test, so its length is by the clock (not scaled: it must
        // stay below silentProbes' 10 s): 4.5 s is past the (missedProbes + 1) x 1 s within which a
        // killed instance leaves, so a keep-alive sent now goes to another instance if this one left.
        await sleep(4500);
        for (const id of stalled) {
          devices.get(id)!.pending();
          devices.get(id)!.send({ type: 'PINGREQ' });
        }
        await sleep(500);
      } finally {
        gw.proc.kill('SIGCONT');
      }
      // Answered, once the process runs again, by the session the device had: another instance
      // would have answered DISCONNECT, and no PINGRESP would come.
      for (const id of stalled) await devices.get(id)!.next('PINGRESP');
    } finally {
      clearInterval(sampler);
    }
    assert.equal(wentOut, false, 'the stalled instance left the hash');
    assert.deepEqual(await placement(instances), before);
  });

  it("moves only a killed instance's devices: they are told DISCONNECT by another, CONNECT there, the rest stay", async (t) => {
    const before = await placement(instances);
    const counts = instances.map((_i, n) => [...before.values()].filter((x) => x === n).length);
    const victim = counts.indexOf(Math.max(...counts));
    const moving = [...before].filter(([, n]) => n === victim).map(([id]) => id);
    const staying = [...before].filter(([, n]) => n !== victim).map(([id]) => id);
    assert.ok(moving.length > 0 && staying.length > 0);

    const killedAt = Date.now();
    instances[victim]!.gw.proc.kill('SIGKILL');
    // Each moving device keeps its keep-alive going until an instance answers it: the dead one
    // never does; once the front end took it out of the hash another does, with DISCONNECT (§4.1).
    const backAfter = await Promise.all(
      moving.map(async (id) => {
        const d = devices.get(id)!;
        await until(
          async () => {
            d.send({ type: 'PINGREQ' });
            return d.next('DISCONNECT', 300).then(
              () => true,
              () => false,
            );
          },
          scaled(30_000),
          `${id} told to reconnect by a live instance`,
          0,
        );
        await d.connect(id, { cleanSession: false });
        return Date.now() - killedAt;
      }),
    );
    t.diagnostic(`instance ${victim} killed: its ${moving.length} devices connected again to another after ${Math.min(...backAfter)}-${Math.max(...backAfter)} ms (stated bound: (missedProbes + 1) x intervalMs = 4000 ms, plus the device's retry)`);
    assert.equal(fe.instancesUp()[victim], false);

    // The others were never disturbed: their keep-alive is answered by the session they had (an
    // instance without one would answer DISCONNECT, and no PINGRESP would come).
    for (const id of staying) {
      const d = devices.get(id)!;
      d.pending();
      d.send({ type: 'PINGREQ' });
      await d.next('PINGRESP');
    }
    const live = instances.filter((_i, n) => n !== victim);
    const afterwards = await placement(live);
    for (const id of staying) assert.equal(live[afterwards.get(id)!], instances[before.get(id)!], `${id} stayed where it was`);
    for (const id of moving) assert.ok(afterwards.has(id), `${id} is on a live instance`);
  });
});
