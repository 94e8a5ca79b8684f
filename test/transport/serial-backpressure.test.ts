/**
 * Serial writes with backpressure, over a real pty pair (socat) whose far end nobody reads: the
 * gateway's side of the line fills up, and from then on frames are shed and counted
 * (`stats().shed`, MQTTSN_ERR_WRITE_BUFFER_FULL) instead of piling up in memory without end, as
 * a fast QoS 0 fan-out toward a stalled dongle would make them. The shipped default bound (64 KiB
 * at the default 115200 baud) is what applies here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { SlipSerialTransport } from '../../src/transport/serial.js';
import { defaultWriteBuffer } from '../../src/transport/serial-link.js';
import { publish, ptyPair, until, type PtyPair } from './helpers.js';

const BAUD = 115_200;
const ROUNDS = 200;
const PER_ROUND = 50;

describe('serial write backpressure on a line nobody reads', () => {
  let pty: PtyPair;
  let t: SlipSerialTransport;

  before(async () => {
    pty = ptyPair();
    await pty.start();
    t = new SlipSerialTransport({ path: pty.a, baudRate: BAUD });
    await t.open();
    await until(() => t.state === 'open', 5000, 'the line open');
  });

  after(async () => {
    await t?.close();
    await pty?.dispose();
  });

  it('sheds and counts beyond the bound; what waits stays within it', async () => {
    const frame = publish(Buffer.alloc(200, 0x41));
    const bound = defaultWriteBuffer(BAUD);
    let written = 0;
    let shed = 0;
    let pending = 0;
    let maxPending = 0;
    const other: unknown[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < PER_ROUND; i++) {
        pending++;
        t.send(t.peer, frame).then(
          () => {
            pending--;
            written++;
          },
          (err: unknown) => {
            pending--;
            if (err instanceof TransportError && err.code === TransportErrorCode.WRITE_BUFFER_FULL) shed++;
            else other.push(err);
          },
        );
      }
      maxPending = Math.max(maxPending, pending);
      // Let the binding write what the line takes, as a fan-out spread over time would.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(() => pending <= Math.ceil(bound / frame.length) + 1, 5000, 'refusals settled');
    assert.deepEqual(other, []);
    assert.ok(written > 0, 'the line took bytes before it filled up');
    assert.ok(shed > 0, 'frames were shed once it was full');
    assert.equal(t.stats().shed, shed, 'every shed frame is counted');
    // What waits for the line is what the bound allows (each frame is a little over 200 bytes on the wire).
    assert.ok(maxPending * frame.length <= bound + PER_ROUND * frame.length, `${maxPending} frames waited at most`);
    assert.ok(pending * frame.length <= bound + frame.length, `${pending} frames wait for the stalled line`);
  });
});
