/**
 * The front end against bare UDP sockets standing in for instances and devices: what it sends
 * where, that it keeps nothing per device (a reply, or a message the instance starts, reaches
 * the device through a front end restarted in between), and what it does with no instance alive.
 */
import dgram, { type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFrontEnd, type RunningFrontEnd } from '../../src/frontend/front-end.js';
import { decapsulate, encapsulate } from '../../src/transport/forwarder.js';
import { fnv1a, pickInstance } from '../../src/frontend/rendezvous.js';
import { deviceNodeId } from '../../src/transport/front-end-address.js';
import { freeUdpPort } from '../helpers/ports.js';
import { Queue, until } from '../transport/helpers.js';

const PINGREQ = Buffer.from('0216', 'hex');
const PUBLISH = Buffer.from('0c0c0000010001007465737421', 'hex');
const SEARCHGW = Buffer.from('030100', 'hex');

interface Endpoint {
  socket: Socket;
  port: number;
  got: Queue<Buffer>;
  send(b: Buffer, port: number): void;
}

const open: Socket[] = [];
async function endpoint(host = '127.0.0.1', port = 0): Promise<Endpoint> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(port, host, r));
  open.push(socket);
  const got = new Queue<Buffer>();
  socket.on('message', (m) => got.push(m));
  return { socket, port: socket.address().port, got, send: (b, port) => socket.send(b, port, '127.0.0.1') };
}

/** A gateway's answer to the front end's probes: GWINFO to the probe's sender (MQTT-SN 1.2 §6.1). */
function answerProbes(e: Endpoint): void {
  e.socket.on('message', (m, rinfo) => m.equals(SEARCHGW) && e.socket.send(Buffer.from('030205', 'hex'), rinfo.port, rinfo.address));
}

/** Closes `e` for good: its port then refuses datagrams (ICMP port unreachable), as a killed process's does. */
async function kill(e: Endpoint): Promise<void> {
  open.splice(open.indexOf(e.socket), 1);
  await new Promise<void>((r) => e.socket.close(r));
}

/** The next datagram that is not a health probe (SEARCHGW). */
async function nextNotProbe(e: Endpoint): Promise<Buffer> {
  for (;;) {
    const m = await e.got.next();
    if (!m.equals(SEARCHGW)) return m;
  }
}

describe('front end', () => {
  const running: RunningFrontEnd[] = [];
  after(async () => {
    for (const f of running) await f.close();
    for (const s of open) s.close();
  });

  it('wraps a device datagram for one instance with the device address as node id, and sends the answer back from the node id alone, across a restart', async () => {
    const instance = await endpoint();
    const device = await endpoint('127.0.0.3');
    const port = await freeUdpPort();
    const options = { host: '127.0.0.1', port, instances: [{ host: '127.0.0.1', port: instance.port }] };
    let fe = await startFrontEnd(options);
    device.send(PINGREQ, port);
    const wrapped = decapsulate(await nextNotProbe(instance));
    assert.deepEqual(wrapped?.nodeId, deviceNodeId('127.0.0.3', device.port));
    assert.deepEqual(wrapped?.message, PINGREQ);

    // A front end with no memory of the device: stopped and started again on the same port.
    await fe.close();
    fe = await startFrontEnd(options);
    running.push(fe);
    // The instance answers, then sends what it starts itself (a sleeper's buffered PUBLISH).
    instance.send(encapsulate(wrapped.nodeId, Buffer.from('0217', 'hex')), port);
    instance.send(encapsulate(wrapped.nodeId, PUBLISH), port);
    assert.equal((await device.got.next()).toString('hex'), '0217');
    assert.deepEqual(await device.got.next(), PUBLISH);
    assert.equal(fe.stats().toDevices, 2);
  });

  it('sends ADVERTISE with its own GwId and the interval as Duration when configured (a loopback listener stands in for the LAN)', async () => {
    const instance = await endpoint();
    const lan = await endpoint();
    const fe = await startFrontEnd({ host: '127.0.0.1', port: 0, instances: [{ host: '127.0.0.1', port: instance.port }], gatewayId: 4, advertise: { address: '127.0.0.1', port: lan.port, intervalSec: 900 } });
    running.push(fe);
    assert.equal((await lan.got.next()).toString('hex'), '0500040384');
  });

  it('drops a forwarder-encapsulated datagram from a device: 1.2 has no encapsulation inside one', async () => {
    const instance = await endpoint();
    const device = await endpoint();
    const fe = await startFrontEnd({ host: '127.0.0.1', port: 0, instances: [{ host: '127.0.0.1', port: instance.port }] });
    running.push(fe);
    device.send(encapsulate(Buffer.from('01', 'hex'), PINGREQ), fe.port);
    device.send(PINGREQ, fe.port);
    assert.deepEqual(decapsulate(await nextNotProbe(instance))?.message, PINGREQ, 'only the plain one went on');
    assert.equal(fe.stats().dropped, 1);
  });

  it('answers SEARCHGW only while an instance is alive, and sends devices on to the others meanwhile', async () => {
    const quiet = await endpoint();
    const talking = await endpoint();
    // Probing lifted to 50 ms and 1 missed probe so that death is seen quickly; the e2e test runs the defaults.
    const fe = await startFrontEnd({ host: '127.0.0.1', port: 0, instances: [{ host: '127.0.0.1', port: quiet.port }, { host: '127.0.0.1', port: talking.port }], probeIntervalMs: 50, missedProbes: 1, gatewayId: 7 });
    running.push(fe);
    // `talking` answers every probe with GWINFO, as a gateway does; `quiet` never does.
    talking.socket.on('message', (m) => m.equals(SEARCHGW) && talking.send(Buffer.from('030205', 'hex'), fe.port));
    await until(() => fe.instancesUp().join() === 'false,true', 5000, 'the quiet instance out');
    const devices = await Promise.all(Array.from({ length: 8 }, () => endpoint()));
    for (const d of devices) d.send(PINGREQ, fe.port);
    await until(() => fe.stats().toInstances[1] === 8, 5000, 'every device sent to the live instance');
    assert.equal(fe.stats().toInstances[0], 0);
    devices[0]!.send(SEARCHGW, fe.port);
    assert.equal((await devices[0]!.got.next()).toString('hex'), '030207', 'GWINFO with the front end GwId');

    talking.socket.removeAllListeners('message');
    await until(() => !fe.instancesUp().includes(true), 5000, 'both out');
    const answered = fe.stats().searchGwAnswered;
    devices[1]!.send(SEARCHGW, fe.port);
    // With none alive, datagrams still go somewhere (the probes may be what is lost), but SEARCHGW is not answered.
    devices[1]!.send(PINGREQ, fe.port);
    await until(() => fe.stats().toInstances[0]! + fe.stats().toInstances[1]! === 9, 5000, 'the PINGREQ sent on');
    assert.equal(fe.stats().searchGwAnswered, answered);
    assert.equal(devices[1]!.got.length, 0);
  });

  it('tells dead from busy: a refusing port is out after missedProbes intervals, a silent open one only after silentProbes, one answering devices but no probe stays', async () => {
    const dead = await endpoint();
    const stalled = await endpoint(); // bound, reads nothing it answers: a process stalled by load
    const busy = await endpoint(); // drops every probe, but keeps answering its devices
    await kill(dead);
    // Lifted to 50 ms, 2 and 20 so the test takes about a second; health.test.ts counts the
    // shipped 3 and 10, and front-end.e2e.test.ts runs them against real gateways.
    const fe = await startFrontEnd({ host: '127.0.0.1', port: 0, instances: [dead, stalled, busy].map((e) => ({ host: '127.0.0.1', port: e.port })), probeIntervalMs: 50, missedProbes: 2, silentProbes: 20 });
    running.push(fe);
    const device = deviceNodeId('127.0.0.9', 4000);
    const answering = setInterval(() => busy.send(encapsulate(device, Buffer.from('0217', 'hex')), fe.port), 20);
    try {
      await until(() => !fe.instancesUp()[0]!, 5000, 'the dead instance out');
      // Intervals are counted in the front end's ticks: the stalled one has missed as many as the dead one.
      assert.deepEqual(fe.instancesUp(), [false, true, true], 'out: only the instance whose port refuses');
      assert.ok(fe.stats().probesRefused > 0);
      await until(() => !fe.instancesUp()[1]!, 10_000, 'the stalled instance out after silentProbes');
      assert.deepEqual(fe.instancesUp(), [false, false, true], 'the busy one, whose every probe went unanswered, stays');
    } finally {
      clearInterval(answering);
    }
  });

  it('keeps a device that failed over on the instance it moved to when its home comes back; one that was quiet meanwhile, and new ones, go home', async () => {
    const a = await endpoint();
    const b = await endpoint();
    answerProbes(a);
    answerProbes(b);
    const seeds = [a, b].map((e) => fnv1a(Buffer.from(`127.0.0.1:${e.port}`)));
    /** A device whose home (the hash over both instances) is `a`. */
    const homedOnA = async (): Promise<Endpoint> => {
      for (let i = 0; i < 64; i++) {
        const d = await endpoint();
        if (pickInstance(deviceNodeId('127.0.0.1', d.port), seeds, () => true) === 0) return d;
      }
      throw new Error('no device hashed to instance a in 64 tries');
    };
    // Lifted to 50 ms, 1 and 2 so that death and return are seen quickly; the shipped affinity defaults.
    const fe = await startFrontEnd({ host: '127.0.0.1', port: 0, instances: [a, b].map((e) => ({ host: '127.0.0.1', port: e.port })), probeIntervalMs: 50, missedProbes: 1, silentProbes: 2 });
    running.push(fe);
    const moved = await homedOnA();
    const quiet = await homedOnA(); // sends nothing while a is out: it is never moved
    const fromDevice = async (at: Endpoint, d: Endpoint): Promise<void> => {
      for (;;) {
        const w = decapsulate(await nextNotProbe(at));
        if (w?.nodeId.equals(deviceNodeId('127.0.0.1', d.port)) === true) return;
      }
    };
    moved.send(PINGREQ, fe.port);
    await fromDevice(a, moved);
    quiet.send(PINGREQ, fe.port);
    await fromDevice(a, quiet);

    await kill(a);
    await until(() => !fe.instancesUp()[0]!, 5000, 'a out');
    moved.send(PINGREQ, fe.port);
    await fromDevice(b, moved);
    assert.equal(fe.stats().affinityEntries, 1);

    const back = await endpoint('127.0.0.1', a.port);
    answerProbes(back);
    await until(() => fe.instancesUp()[0]!, 5000, 'a back');
    moved.send(PINGREQ, fe.port);
    await fromDevice(b, moved); // not hashed back to a in mid-session
    quiet.send(PINGREQ, fe.port);
    await fromDevice(back, quiet);
    const newcomer = await homedOnA();
    newcomer.send(PINGREQ, fe.port);
    await fromDevice(back, newcomer);
    assert.deepEqual(fe.stats().toInstances, [4, 2]);
  });
});
