/**
 * XBee API adapter over a real pty pair: the far end plays the module's UART (XBeeModuleSim),
 * answering Transmit Requests with Transmit Status frames and writing Receive Packets.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { XBeeTransport, type XBeeOptions, type XBeePeer } from '../../src/transport/xbee.js';
import type { DeliveryReport, StatusEvent } from '../../src/transport/types.js';
import { encodeApiFrame, type ApiMode } from '../../src/transport/xbee-api.js';
import { transportConformance, type Harness } from './conformance.js';
import { closePort, hex, nasty, openPort, PINGREQ, ptyPair, Queue, until, vectors, writePort, XBeeModuleSim } from './helpers.js';

const NODE = '0013a20040a1b2c3';

async function setUp(mode: ApiMode, options: Partial<XBeeOptions> = {}) {
  const pty = ptyPair();
  await pty.start();
  const t = new XBeeTransport({ path: pty.a, baudRate: 9600, apiMode: mode, presenceCheckMs: 50, reconnect: { initialMs: 40, maxMs: 160 }, ...options });
  const frames = new Queue<{ peer: XBeePeer; frame: Buffer; broadcast: boolean }>();
  t.on('frame', (peer, frame, broadcast) => frames.push({ peer, frame, broadcast }));
  const deliveries = new Queue<DeliveryReport<XBeePeer>>();
  t.on('delivery', deliveries.push);
  await t.open();
  const port = await openPort(pty.b, 9600);
  const sim = new XBeeModuleSim(port, mode);
  return {
    pty,
    t,
    sim,
    frames,
    deliveries,
    dispose: async () => {
      await t.close();
      await closePort(port);
      await pty.dispose();
      assert.deepEqual(sim.bad, [], 'the adapter wrote only well-formed frames');
    },
  };
}

for (const mode of [1, 2] as const) {
  transportConformance(`serial XBee API mode ${mode} over a pty`, async (): Promise<Harness> => {
    const s = await setUp(mode, { maxFrameSize: 100 });
    return {
      transport: s.t,
      received: s.sim.data,
      peerKey: `xbee:${NODE}`,
      limit: 100,
      canInjectOversize: true,
      inject: (frame) => s.sim.receive(frame),
      dispose: s.dispose,
    };
  });
}

describe('serial XBee adapter', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  for (const mode of [1, 2] as const) {
    it(`receives the 0x90 vectors, keyed on the 64-bit source (AP=${mode})`, async () => {
      const s = await setUp(mode);
      try {
        const rx = vectors(mode === 1 ? 'xbee-api1' : 'xbee-api2').filter((v) => v.decoded.frameType === '0x90');
        assert.equal(rx.length, 2);
        for (const v of rx) {
          await writePort(s.sim.port, hex(v.hex));
          const got = await s.frames.next();
          assert.equal(got.peer.key, `xbee:${v.decoded.src64 as string}`);
          assert.equal(got.peer.addr16, parseInt(v.decoded.src16 as string, 16));
          assert.equal(got.frame.toString('hex'), (v.decoded.frameData_hex as string).slice(24));
          assert.equal(got.broadcast, false);
        }
      } finally {
        await s.dispose();
      }
    });
  }

  it('writes the 0x10 of the vectors byte for byte (first frame id is 1, 16-bit address unknown)', async () => {
    const s = await setUp(1);
    try {
      const v = vectors('xbee-api1').find((x) => x.name.includes('CONNECT'))!;
      const raw = new Queue<Buffer>();
      s.sim.port.on('data', (c: Buffer) => raw.push(Buffer.from(c)));
      await s.t.send(s.t.peerFromKey(`xbee:${NODE}`)!, hex('0d040401003c636c69656e7431'));
      let got = Buffer.alloc(0);
      while (got.length < v.hex.length / 2) got = Buffer.concat([got, await raw.next()]);
      assert.equal(got.toString('hex'), v.hex);
    } finally {
      await s.dispose();
    }
  });

  it('answers to the last 16-bit address seen for a node', async () => {
    const s = await setUp(2);
    try {
      await s.sim.receive(PINGREQ, NODE, 0x7d84);
      const { peer } = await s.frames.next();
      await s.t.send(peer, hex('0217'));
      const req = await s.sim.requests.next();
      assert.equal(req.subarray(2, 10).toString('hex'), NODE);
      assert.equal(req.readUInt16BE(10), 0x7d84);
    } finally {
      await s.dispose();
    }
  });

  it('flags frames received with option 0x02 as broadcast (how SEARCHGW arrives)', async () => {
    const s = await setUp(2);
    try {
      await s.sim.receive(hex('031500'), NODE, 0xfffe, 0x02 | 0x40);
      assert.equal((await s.frames.next()).broadcast, true);
    } finally {
      await s.dispose();
    }
  });

  it('broadcasts to 000000000000FFFF / FFFE with the given radius and frame id 0', async () => {
    const s = await setUp(2, { broadcastRadius: 0 });
    try {
      const advertise = hex('0500010384');
      await s.t.broadcast(advertise, 3);
      const req = await s.sim.requests.next();
      assert.equal(req.toString('hex'), `1000000000000000fffffffe0300${advertise.toString('hex')}`);
      await s.t.broadcast(advertise);
      assert.equal((await s.sim.requests.next())[12], 0, 'default radius 0 = NH');
      // Then a unicast, whose status the module sends: it must be the first delivery report.
      const peer = s.t.peerFromKey(`xbee:${NODE}`)!;
      await s.deliveries.expectNothingBefore('a delivery report for a broadcast', () => s.t.send(peer, PINGREQ), (d) => d.ok && d.peer.key === peer.key);
    } finally {
      await s.dispose();
    }
  });

  it('reports link-layer delivery: success, a failure status, and a timeout', async () => {
    // The timeout is what the third case tests; the first two need the simulated module's TX
    // Status within it over a real pty, so it is sized well above a loaded machine's scheduling delay.
    const s = await setUp(2, { txStatusTimeoutMs: 1000 });
    try {
      const peer = s.t.peerFromKey(`xbee:${NODE}`)!;
      await s.t.send(peer, PINGREQ);
      const ok = await s.deliveries.next();
      assert.deepEqual({ ...ok, peer: ok.peer.key }, { peer: `xbee:${NODE}`, ok: true, status: 0, timedOut: false, retries: 0 });
      s.sim.status = 0x21; // network ACK failure
      await s.t.send(peer, PINGREQ);
      const failed = await s.deliveries.next();
      assert.equal(failed.ok, false);
      assert.equal(failed.status, 0x21);
      s.sim.status = null; // the module stays silent
      await s.t.send(peer, PINGREQ);
      const lost = await s.deliveries.next(5000);
      assert.equal(lost.timedOut, true);
      assert.equal(lost.ok, false);
      assert.equal(s.t.stats().deliveryFailures, 2);
    } finally {
      await s.dispose();
    }
  });

  it('uses frame ids 1..255 and never 0 (FRAMING.md §2.8)', async () => {
    const s = await setUp(1, { baudRate: 115200 });
    try {
      const peer = s.t.peerFromKey(`xbee:${NODE}`)!;
      const ids: number[] = [];
      for (let i = 0; i < 257; i++) {
        await s.t.send(peer, PINGREQ);
        ids.push((await s.sim.requests.next())[1]!);
        await s.deliveries.next();
      }
      assert.deepEqual(ids.slice(0, 255), Array.from({ length: 255 }, (_, i) => i + 1));
      assert.deepEqual(ids.slice(255), [1, 2]);
    } finally {
      await s.dispose();
    }
  });

  for (const mode of [1, 2] as const) {
    it(`counts and drops a frame with a bad checksum, and resyncs after noise (AP=${mode})`, async () => {
      const s = await setUp(mode);
      try {
        const good = hex(vectors(mode === 1 ? 'xbee-api1' : 'xbee-api2').find((v) => v.decoded.frameType === '0x90')!.hex);
        const bad = Buffer.from(good);
        bad[bad.length - 1] = bad.at(-1)! ^ 0x55;
        const text = mode === 1 ? 'TxData' : 'RxData';
        await writePort(s.sim.port, Buffer.concat([hex('00 11 13 ff'), bad, hex('42 7d'), good]));
        assert.equal((await s.frames.next()).frame.toString(), text);
        assert.equal(s.t.stats().dropped.badChecksum, 1);
        assert.ok(s.t.stats().dropped.garbage >= 1);
        // A frame cut short, then a whole one.
        await writePort(s.sim.port, Buffer.concat([good.subarray(0, 6), good]));
        assert.equal((await s.frames.next()).frame.toString(), text);
        if (mode === 2) assert.equal(s.t.stats().dropped.truncated, 1);
        // AP=1 cannot see the cut: the stub's length runs into the next frame, whose bytes then
        // fail the stub's checksum, and the scan restarts inside it (FRAMING.md §2.3).
        else assert.equal(s.t.stats().dropped.badChecksum, 2);
        assert.equal(s.frames.length, 0);
      } finally {
        await s.dispose();
      }
    });
  }

  it('ignores frame types it does not use, and logs modem status without dropping it', async () => {
    const s = await setUp(2);
    try {
      await writePort(s.sim.port, encodeApiFrame(hex('8801444400'), 2)); // AT command response
      await writePort(s.sim.port, encodeApiFrame(hex('8a02'), 2)); // modem status: joined
      await s.sim.receive(PINGREQ);
      await s.frames.next();
      assert.equal(s.t.stats().dropped.unsupported, 1);
    } finally {
      await s.dispose();
    }
  });

  it('refuses a frame over the RF payload limit (NP, default 84) with FRAME_TOO_LARGE', async () => {
    const s = await setUp(2);
    try {
      assert.equal(s.t.maxFrameSize, 84);
      const peer = s.t.peerFromKey(`xbee:${NODE}`)!;
      await assert.rejects(s.t.send(peer, Buffer.alloc(85, 1)), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE);
      await assert.rejects(s.t.broadcast(Buffer.alloc(85, 1)), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE);
      // Then a frame within the limit: the first Transmit Request the module sees must be it.
      await s.sim.requests.expectNothingBefore('a Transmit Request for a refused frame', () => s.t.send(peer, PINGREQ), (fd) => fd.subarray(14).equals(PINGREQ));
    } finally {
      await s.dispose();
    }
  });

  it('survives the module disappearing and resumes when it is back', async () => {
    const s = await setUp(2);
    try {
      const statuses: StatusEvent[] = [];
      s.t.on('status', (e) => statuses.push(e));
      await closePort(s.sim.port);
      await s.pty.stop();
      await until(() => s.t.state === 'reopening', 2000, 'the loss to be noticed');
      await assert.rejects(s.t.send(s.t.peerFromKey(`xbee:${NODE}`)!, PINGREQ), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.NOT_OPEN);
      await s.pty.start();
      await until(() => s.t.state === 'open', 2000, 'the adapter to reopen');
      const sim = new XBeeModuleSim(await openPort(s.pty.b, 9600), 2);
      try {
        await sim.receive(nasty(5));
        assert.deepEqual((await s.frames.next()).frame, nasty(5));
      } finally {
        await closePort(sim.port);
      }
    } finally {
      await s.dispose();
    }
  });
});
