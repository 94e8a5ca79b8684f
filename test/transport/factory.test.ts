/** createTransport: one adapter per config entry, wrapped for forwarders when asked. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTransport, type TransportConfig } from '../../src/transport/factory.js';
import { ForwarderTransport, encapsulate } from '../../src/transport/forwarder.js';
import { MemoryTransport, type MemoryPeer } from '../../src/transport/memory.js';
import { RawSerialTransport, SlipSerialTransport } from '../../src/transport/serial.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { XBeeTransport } from '../../src/transport/xbee.js';
import { RateLimitedWarn } from '../../src/transport/log.js';
import { hex, PINGREQ, Queue } from './helpers.js';

describe('createTransport', () => {
  it('builds the adapter each config entry names, closed', () => {
    const cases: [TransportConfig, new (...args: never[]) => unknown, string, number][] = [
      [{ type: 'udp', host: '0.0.0.0', port: 1884 }, UdpTransport, 'udp:0.0.0.0:1884', 65507],
      [{ type: 'udp', host: '::', port: 1884 }, UdpTransport, 'udp:[::]:1884', 65527],
      [{ type: 'serial', path: '/dev/ttyUSB0', baudRate: 115200, framing: 'slip' }, SlipSerialTransport, 'serial:/dev/ttyUSB0', 1024],
      [{ type: 'serial', path: '/dev/ttyUSB1', baudRate: 9600, framing: 'xbee-api1' }, XBeeTransport, 'serial:/dev/ttyUSB1', 84],
      [{ type: 'serial', path: '/dev/ttyUSB1', baudRate: 9600, framing: 'xbee-api2', maxFrameSize: 72 }, XBeeTransport, 'serial:/dev/ttyUSB1', 72],
      [{ type: 'memory' }, MemoryTransport, 'mem:gateway', 65535],
    ];
    for (const [config, cls, name, max] of cases) {
      const t = createTransport(config);
      assert.ok(t instanceof cls, name);
      assert.equal(t.name, name);
      assert.equal(t.maxFrameSize, max);
      assert.equal(t.state, 'closed');
    }
  });

  it('builds the raw serial adapter for "framing": "raw"', () => {
    const t = createTransport({ type: 'serial', path: '/dev/ttyACM0', baudRate: 9600, framing: 'raw' });
    assert.ok(t instanceof RawSerialTransport);
    assert.equal(t.maxFrameSize, 1024);
  });

  it('leaves UDP unwrapped: it unwraps forwarder encapsulation by itself', () => {
    assert.ok(createTransport({ type: 'udp', host: '127.0.0.1', port: 0, forwarder: true }) instanceof UdpTransport);
  });

  it('wraps the adapter in forwarder encapsulation when "forwarder": true', async () => {
    const t = createTransport({ type: 'memory', forwarder: true });
    assert.equal(t instanceof ForwarderTransport, true);
    const hub = (t as ForwarderTransport<MemoryPeer>).inner as MemoryTransport;
    await t.open();
    const forwarder = hub.connect('fwd');
    const got = new Queue<string>();
    t.on('frame', (peer, frame) => got.push(`${peer.key} ${frame.toString('hex')}`));
    await forwarder.send(forwarder.gateway, encapsulate(hex('1234'), PINGREQ));
    assert.equal(await got.next(), 'mem:fwd/fwd:1234 0216');
    await t.close();
  });

  it('passes the logger on to the adapter', async () => {
    const lines: string[] = [];
    const logger = { warn: (_o: object, m: string) => lines.push(m), info: (_o: object, m: string) => lines.push(m), debug: () => {} };
    const t = createTransport({ type: 'udp', host: '127.0.0.1', port: 0 }, { logger });
    await t.open();
    await t.close();
    assert.deepEqual(lines, ['UDP transport listening']);
  });
});

describe('rate-limited warnings', () => {
  it('logs the first of a kind at once, then at most one per interval with the count suppressed', () => {
    let now = 0;
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }), info: () => {}, debug: () => {} };
    const w = new RateLimitedWarn(logger, 1000, () => now);
    for (let i = 0; i < 5; i++) w.warn('garbage', { i }, 'noise');
    w.warn('badChecksum', {}, 'checksum');
    now = 1500;
    w.warn('garbage', { i: 9 }, 'noise');
    assert.deepEqual(lines, [
      { obj: { i: 0 }, msg: 'noise' },
      { obj: {}, msg: 'checksum' },
      { obj: { i: 9, suppressed: 4 }, msg: 'noise' },
    ]);
  });

  it('throttles info lines the same way, for drops the config asked for', () => {
    let now = 0;
    const lines: string[] = [];
    const logger = { warn: () => {}, info: (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`), debug: () => {} };
    const w = new RateLimitedWarn(logger, 1000, () => now);
    for (let i = 0; i < 3; i++) w.info('unsupported', {}, 'refused');
    now = 1000;
    w.info('unsupported', {}, 'refused');
    assert.deepEqual(lines, ['refused {}', 'refused {"suppressed":2}']);
  });
});
