/**
 * A device that speaks MQTT-SN to mqtt-sn-tools' `mqtt-sn-serial-bridge` (issue #17, item 9):
 * bare frames on the serial line, no SLIP. The bridge reads a Length byte then the rest, and
 * writes the gateway's answers back as they are; the gateway on `"framing": "raw"` stands in for
 * the bridge. A real pty pair (socat), the shipped config plus the serial entry a user adds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SerialPort } from 'serialport';
import { closePort, lengthReader, openPort, ptyPair, writePort, type PtyPair } from '../transport/helpers.js';
import { message, Queue, startShipped, until, utf8, type ShippedGateway } from './shipped-gateway.js';

describe('interop: device behind mqtt-sn-serial-bridge, on "framing": "raw"', () => {
  const pty: PtyPair = ptyPair();
  let gw: ShippedGateway | undefined;
  let device: SerialPort | undefined;
  const answers = new Queue<Buffer>();
  const adverts: Buffer[] = [];

  before(async () => {
    await pty.start();
    gw = await startShipped((json) => {
      // What the README tells a user to add for such a device: the line at the bridge's default 9600 baud.
      json.transports.push({ type: 'serial', path: pty.a, baudRate: 9600, framing: 'raw' });
    });
    await until(() => gw!.running.transports[1]?.state === 'open', 5000, 'the serial line open');
    device = await openPort(pty.b, 9600);
    // The gateway ADVERTISEs on the line (MQTT-SN 1.2 §6.1); a device takes note and goes on.
    device.on('data', lengthReader((f) => (f[1] === 0x00 ? adverts.push(f) : answers.push(f))));
  });
  // Guarded: a gateway that refuses the config must fail the tests, not leave socat running.
  after(async () => {
    if (device) await closePort(device);
    await gw?.close();
    await pty.dispose();
  });

  it('connects, registers and publishes with bare frames, and the answers come back bare', async () => {
    // CONNECT: clean session, protocol 1, keep-alive 60 s, client id "mcu-1".
    await writePort(device!, message('04', '04', '01', '003c', utf8('mcu-1')));
    assert.equal((await answers.next(5000, 'CONNACK')).toString('hex'), '030500');
    await writePort(device!, message('0a', '0000', '0001', utf8('mcu/temp')));
    const regack = (await answers.next(5000, 'REGACK')).toString('hex');
    assert.match(regack, /^070b[0-9a-f]{4}000100$/);
    // Two PUBLISHes in one write, as a device flushing its buffer does: the Length splits them.
    const topicId = regack.slice(4, 8);
    await writePort(device!, Buffer.concat([message('0c', '00', topicId, '0000', utf8('19.0')), message('0c', '20', topicId, '0002', utf8('19.5'))]));
    assert.equal((await answers.next(5000, 'PUBACK')).toString('hex'), `070d${topicId}000200`);
    await until(() => gw!.published.filter((m) => m.topic === 'mcu/temp').length === 2, 5000, 'both readings at the broker');
    assert.deepEqual(gw!.published.filter((m) => m.topic === 'mcu/temp').map((m) => m.payload.toString()), ['19.0', '19.5']);
  });

  it('gets back in step after the boot banner a device prints before its first frame', async () => {
    // A reset: the firmware prints a banner (bytes that read as a 98-byte frame), pauses, then CONNECTs.
    const line = gw!.running.transports[1]!;
    await writePort(device!, Buffer.from('boot v1.2\r\n'));
    // The pause lasts until the gateway's idle gap has dropped the banner, however long that takes here.
    await until(() => line.stats().dropped.truncated === 1, 5000, 'the banner to be dropped at the idle gap');
    await writePort(device!, message('04', '04', '01', '003c', utf8('mcu-1')));
    assert.equal((await answers.next(5000, 'CONNACK')).toString('hex'), '030500');
    assert.equal(line.stats().dropped.truncated, 1, 'only the banner was dropped');
  });
});
