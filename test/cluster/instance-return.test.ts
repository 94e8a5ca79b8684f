/**
 * A gateway instance that comes back, behind the project's front end (issue #21: the front end
 * "keeps a device on one instance while it lives"): 3 NATS nodes, 3 instances in transparent mode,
 * devices over real UDP, the shipped front-end defaults. Instance 1 is SIGKILLed, its devices fail
 * over to the others (DISCONNECT there, CONNECT again), then it is started again (same config,
 * port and store, as systemd would). The devices that moved stay where they are: the front end
 * sends the returned instance nothing of theirs, and they get no further DISCONNECT and make no
 * new CONNECT; the returned instance opens none of their upstream connections (sessions restored
 * behind front ends stay dormant, src/gateway/dormant.ts), so none is answered PUBACK 0x01; new
 * devices whose home it is go to it; every message a publisher got PUBACK 0x00 for reaches its
 * subscriber.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a, pickInstance } from '../../src/frontend/rendezvous.js';
import { deviceNodeId } from '../../src/transport/front-end-address.js';
import { until } from '../helpers/wait.js';
import { Device, type DeviceOptions } from './device.js';
import { startStack } from './stack.js';

const SUBSCRIBERS = 3;
const PUBLISHERS = 24;
// N_retry 4, T_retry 2 s: as the cluster scenario's devices (MQTT-SN 1.2 §6.13 suggests 3-5).
const OPTS: DeviceOptions = { keepAliveSec: 10, retryMs: 2000, retries: 4, connectDeadlineMs: 120_000 };

describe('cluster: an instance that comes back behind the front end', () => {
  it('keeps the devices that failed over where they are, gives it new ones, and loses nothing acknowledged', { timeout: 300_000 }, async (t) => {
    const stack = await startStack({ instances: 3, brokerNodes: 3, proxyTimeoutSec: 60, frontEnd: 'forwarder' });
    const devices: Device[] = [];
    const loops: Promise<void>[] = [];
    let publishing = true;
    try {
      const { instances, front } = stack;
      const subs = Array.from({ length: SUBSCRIBERS }, (_v, k) => new Device(`sub-${k}`, front.listen, OPTS));
      const pubs = Array.from({ length: PUBLISHERS }, (_v, n) => new Device(`pub-${n}`, front.listen, OPTS));
      devices.push(...subs, ...pubs);
      for (const d of devices) await d.open();
      for (const s of subs) {
        await s.connect();
        await s.settled(() => s.subscribe(`r/${s.id.slice(4)}/#`));
      }
      const pings = new Map<string, number>();
      for (const s of subs) {
        const step = async (): Promise<void> => {
          await s.ping();
          pings.set(s.id, (pings.get(s.id) ?? 0) + 1);
        };
        loops.push(s.run(step, () => Promise.resolve(), () => 1000));
      }
      const acked = new Set<string>();
      const acks = new Map<string, number>();
      let refused = 0; // PUBACK 0x01: the device's upstream connection is down (reported, not asserted)
      for (const p of pubs) {
        await p.connect();
        const topic = `r/${Number(p.id.slice(4)) % SUBSCRIBERS}/${p.id}`;
        let topicId = await p.settled(() => p.register(topic));
        let seq = 0;
        const step = async (): Promise<void> => {
          if (!publishing) return;
          const payload = `${p.id}:${seq}`;
          const rc = await p.publish(topicId, payload);
          if (rc === 0) {
            acked.add(payload);
            acks.set(p.id, (acks.get(p.id) ?? 0) + 1);
            seq++;
          } else if (rc === 2) topicId = await p.register(topic); // 0x02: invalid topic id, register again
          else refused++;
        };
        const again = async (): Promise<void> => {
          topicId = await p.register(topic);
        };
        loops.push(p.run(step, again, () => (publishing ? 300 + Math.random() * 400 : 200)));
      }
      const everyAcked = (ids: readonly string[], atLeast: (id: string) => number): boolean => ids.every((id) => (acks.get(id) ?? 0) >= atLeast(id));
      await until(() => everyAcked(pubs.map((p) => p.id), () => 1), 60_000, 'a PUBACK for every publisher', 100);

      const victim = instances[0]!;
      const movedIds = new Set(await victim.sessionIds());
      const moved = devices.filter((d) => movedIds.has(d.id));
      assert.ok(moved.some((d) => d.id.startsWith('pub-')), `no publisher on instance 1: ${[...movedIds].join(', ')}`);
      victim.kill();
      await until(() => !victim.alive, 10_000, 'instance 1 gone');
      // Every moved device failed over (DISCONNECT from another instance, CONNACK there), and has
      // worked there since: a publisher got a PUBACK, a subscriber a PINGRESP.
      const failedOver = (): boolean => moved.every((d) => d.downtimes.length > 0);
      await until(failedOver, 90_000, "instance 1's devices on the others", 100);
      const mark = new Map(devices.map((d) => [d.id, { acks: acks.get(d.id) ?? 0, pings: pings.get(d.id) ?? 0 }]));
      const workedSinceMark = (d: Device, more: number): boolean =>
        d.id.startsWith('pub-') ? (acks.get(d.id) ?? 0) >= mark.get(d.id)!.acks + more : (pings.get(d.id) ?? 0) >= mark.get(d.id)!.pings + more;
      await until(() => moved.every((d) => workedSinceMark(d, 1)), 60_000, 'the moved devices working on the others', 100);

      const before = new Map(moved.map((d) => [d.id, { disconnects: d.disconnectsFromGateway, connects: d.connects }]));
      await victim.restart();
      // Sampled from its return until the newcomers come: its store brought back the moved
      // devices' sessions, which must not open their upstream connections (same client ids as
      // on the instances serving them now: each opening would take the broker session from there).
      const victimUpstream: number[] = [];
      const sampled = async (cond: () => boolean): Promise<boolean> => {
        victimUpstream.push(await victim.upstreamConnections());
        return cond();
      };
      await until(() => sampled(() => front.instancesUp!()[0] === true), 30_000, 'instance 1 back in the hash', 100);
      const sentToVictim = front.stats!().toInstances[0]!;
      const refusedBefore = refused;
      // Three more exchanges each, counted from its return: a device hashed back to it would go
      // to a session restored as it was at the kill, while the instance it moved to holds the
      // live one (and the device's upstream client id).
      for (const d of devices) mark.set(d.id, { acks: acks.get(d.id) ?? 0, pings: pings.get(d.id) ?? 0 });
      await until(() => sampled(() => moved.every((d) => workedSinceMark(d, 3))), 90_000, 'three more exchanges of every moved device', 100);
      assert.equal(Math.max(...victimUpstream), 0, `upstream connections on the returned instance before any device of its own came (${victimUpstream.length} samples)`);
      assert.equal(refused - refusedBefore, 0, 'PUBACK 0x01 after instance 1 returned: a moved device lost its broker session to the returned instance');
      for (const d of moved) {
        assert.deepEqual({ disconnects: d.disconnectsFromGateway, connects: d.connects }, before.get(d.id), `${d.id} was moved again after instance 1 returned`);
      }
      // Its store gave it back the sessions it had (restored as they were at the kill), but nothing
      // of those devices reaches it: it carried no one else, so nothing went to it at all.
      assert.equal(front.stats!().toInstances[0], sentToVictim, 'datagrams sent to the returned instance');
      assert.equal(front.stats!().affinityEntries, moved.length, 'the front end remembers exactly the moved devices');

      // New devices whose home (the hash over all instances) is instance 1 go to it.
      const seeds = instances.map((i) => fnv1a(Buffer.from(`${i.options.udp.host}:${i.options.udp.port}`)));
      const newcomers: Device[] = [];
      for (let k = 0; newcomers.length < 3 && k < 64; k++) {
        const d = new Device(`new-${k}`, front.listen, OPTS);
        devices.push(d);
        await d.open();
        if (pickInstance(deviceNodeId('127.0.0.1', d.localPort!), seeds, () => true) === 0) newcomers.push(d);
      }
      assert.equal(newcomers.length, 3, 'three devices hashed to instance 1 within 64');
      for (const d of newcomers) await d.connect();
      const onVictim = new Set(await victim.sessionIds());
      for (const d of newcomers) assert.ok(onVictim.has(d.id), `${d.id} is not on the returned instance`);

      publishing = false;
      const subOf = (payload: string): Device => subs[Number(payload.slice(4, payload.indexOf(':'))) % SUBSCRIBERS]!;
      const missing = (): string[] => [...acked].filter((m) => !subOf(m).received.has(m));
      await until(() => missing().length === 0, 60_000, 'every acknowledged message at its subscriber', 250).catch(() => undefined);
      t.diagnostic(`${acked.size} acknowledged, ${moved.length} devices moved off instance 1 and kept there after it returned, ${newcomers.length} new devices on it; PUBACK 0x01 after its return: ${refused - refusedBefore}`);
      assert.deepEqual(missing(), [], 'acknowledged messages that never arrived');
    } finally {
      publishing = false;
      for (const d of devices) d.close();
      await Promise.allSettled(loops);
      await stack.stop();
    }
  });
});
