/**
 * Nodes on a serial line: a real pseudo-terminal pair (socat), opened by the real `serialport`
 * binding on both ends. The far end plays the gateway with the project's framers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { decode, encode, type Packet } from '../../src/codec/index.js';
import { SlipDecoder, slipEncode, type StreamDecoder } from '../../src/transport/slip.js';
import { createApiDecoder, encodeTransmitRequest } from '../../src/transport/xbee-api.js';
import { decapsulate, encapsulate } from '../../src/transport/forwarder.js';
import { SerialMedium, type Framing } from '../../firmware-sim/links/serial.js';
import { SimNode } from '../../firmware-sim/node.js';
import { until } from '../helpers/wait.js';

const hasSocat = spawnSync('socat', ['-V']).status === 0;

/** The gateway end of the line: raw frames in, bytes out. */
class LineEnd {
  readonly frames: Buffer[] = [];
  #waiters: Array<() => void> = [];
  readonly decoder: StreamDecoder;

  constructor(
    readonly port: SerialPort,
    framing: Framing,
  ) {
    const sink = {
      frame: (f: Buffer) => {
        this.frames.push(f);
        for (const w of this.#waiters.splice(0)) w();
      },
      drop: () => {},
    };
    this.decoder = framing === 'slip' ? new SlipDecoder(2048, sink) : createApiDecoder(framing === 'xbee-api1' ? 1 : 2, 2048, sink);
    port.on('data', (d: Buffer) => this.decoder.push(d));
  }

  async next(timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame on the line');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.frames.shift()!;
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((res, rej) => this.port.write(bytes, (e) => (e ? rej(e) : res())));
  }
}

const packet = (b: Buffer): Packet => {
  const p = decode(b);
  if (p instanceof Error) throw p;
  return p;
};

// The serial tests need Debian's socat (installed by .ci/run); without it they fail loudly.
describe('SimNode over a serial line (socat pty pair)', () => {
  it('has socat to make pty pairs', () => assert.ok(hasSocat, 'socat is not installed: apt-get install -y socat'));

  let dir: string;
  let socat: ChildProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-serial-'));
    socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/node`, `pty,raw,echo=0,link=${dir}/gw`], { stdio: 'ignore' });
    await until(() => existsSync(`${dir}/node`) && existsSync(`${dir}/gw`), 5000, 'socat to make the pty pair');
  });
  after(async () => {
    const exited = new Promise((r) => socat.once('exit', r));
    socat.kill();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(framing: Framing, extra: Partial<Parameters<typeof SerialMedium.open>[0]> = {}): Promise<{ medium: SerialMedium; line: LineEnd; close: () => Promise<void> }> {
    const port = new SerialPort({ path: `${dir}/gw`, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    const medium = await SerialMedium.open({ path: `${dir}/node`, baudRate: 115200, framing, ...extra });
    const line = new LineEnd(port, framing);
    return {
      medium,
      line,
      close: async () => {
        await medium.close();
        await new Promise<void>((r) => port.close(() => r()));
      },
    };
  }

  it('SLIP: one node connects and publishes QoS 1', async () => {
    const { medium, line, close } = await open('slip');
    const node = new SimNode({ link: medium.link(0), retryMs: 1000, reconnect: false });
    try {
      const done = node.connect({ clientId: 'slip-1', keepAlive: 0 });
      assert.equal(packet(await line.next()).type, 'CONNECT');
      await line.write(slipEncode(encode({ type: 'CONNACK', returnCode: 0 }), true));
      await done;
      const pub = node.publish({ topicId: 1, payload: Buffer.from([0xc0, 0xdb, 0x41]), qos: 1 });
      const p = packet(await line.next());
      assert.ok(p.type === 'PUBLISH');
      assert.deepEqual([...p.payload], [0xc0, 0xdb, 0x41]);
      await line.write(slipEncode(encode({ type: 'PUBACK', topicId: 1, msgId: p.msgId, returnCode: 0 }), false));
      await pub;
    } finally {
      await node.close();
      await close();
    }
  });

  it('SLIP with forwarder encapsulation: two nodes share the line', async () => {
    const { medium, line, close } = await open('slip', { forwarder: true });
    const nodes = [0, 1].map((i) => new SimNode({ link: medium.link(i), retryMs: 1000, reconnect: false }));
    try {
      const done = nodes.map((n, i) => n.connect({ clientId: `fwd-${i}`, keepAlive: 0 }));
      const ids = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const d = decapsulate(await line.next());
        assert.ok(d);
        assert.equal(packet(d.message).type, 'CONNECT');
        ids.add(d.nodeId.toString('hex'));
        await line.write(slipEncode(encapsulate(d.nodeId, encode({ type: 'CONNACK', returnCode: 0 })), true));
      }
      assert.deepEqual([...ids].sort(), ['0001', '0002']);
      await Promise.all(done);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await close();
    }
  });

  for (const framing of ['xbee-api1', 'xbee-api2'] as const) {
    it(`${framing}, module role: nodes send 0x90 from their own address, 0x10 reaches one node and gets 0x8B`, async () => {
      const { medium, line, close } = await open(framing);
      const mode = framing === 'xbee-api1' ? 1 : 2;
      const nodes = [0, 1].map((i) => new SimNode({ link: medium.link(i), retryMs: 1000, reconnect: false }));
      try {
        const second = nodes[1]!.connect({ clientId: 'xb-2', keepAlive: 0 });
        const rx = await line.next();
        assert.equal(rx[0], 0x90);
        const src64 = rx.subarray(1, 9);
        assert.equal(src64.toString('hex'), '0013a20000000002');
        assert.equal(rx[11], 0x01);
        assert.equal(packet(rx.subarray(12)).type, 'CONNECT');
        await line.write(encodeTransmitRequest({ frameId: 7, dest64: src64, dest16: 0xfffe, radius: 0, options: 0, data: encode({ type: 'CONNACK', returnCode: 0 }) }, mode));
        const status = await line.next();
        assert.deepEqual([...status.subarray(0, 2)], [0x8b, 7]);
        assert.equal(status[5], 0x00);
        await second;
        assert.equal(nodes[0]!.state, 'disconnected');
        // SEARCHGW goes up as a broadcast receive (option 0x02).
        const search = nodes[0]!.search({ timeoutMs: 2000, repeatMs: 500 });
        const s = await line.next();
        assert.equal(s[11], 0x02);
        assert.equal(packet(s.subarray(12)).type, 'SEARCHGW');
        await line.write(encodeTransmitRequest({ frameId: 0, dest64: Buffer.from('000000000000ffff', 'hex'), dest16: 0xfffe, radius: 0, options: 0, data: encode({ type: 'GWINFO', gwId: 9 }) }, mode));
        assert.equal((await search).gwId, 9);
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
        await close();
      }
    });
  }

  it('rejects a device that cannot be opened', async () => {
    await assert.rejects(SerialMedium.open({ path: `${dir}/absent`, baudRate: 9600, framing: 'slip' }), { code: 'SIM_ERR_LINK' });
  });
});
