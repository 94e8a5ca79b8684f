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
async function endpoint(host = '127.0.0.1'): Promise<Endpoint> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, host, r));
  open.push(socket);
  const got = new Queue<Buffer>();
  socket.on('message', (m) => got.push(m));
  return { socket, port: socket.address().port, got, send: (b, port) => socket.send(b, port, '127.0.0.1') };
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
});
