/**
 * 0xFE is two things (MQTT-SN-2.0.md §7, AMBIG-2): a 1.2 forwarder frame, whose Length counts its
 * header only, and a 2.0 Connection Encapsulation, whose Length counts the whole packet. The
 * transports unwrap the first and hand the second up whole, on UDP and behind the decorator.
 */
import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decapsulate, encapsulate, ForwarderTransport, isEncapsulated } from '../../src/transport/forwarder.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { hex, Queue } from './helpers.js';

interface Vector20 {
  name: string;
  hex: string;
}
const file20 = (JSON.parse(readFileSync(new URL('../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Vector20[] }).vectors;
const v20 = (name: string): Buffer => hex(file20.find((v) => v.name === name)!.hex);
const CONNECTION_ENCAPSULATIONS = file20.filter((v) => v.name.startsWith('connection_encapsulation_'));
/** 2.0 packets a device behind a 1.2 forwarder may send: a CONNECT, a PINGREQ, and a Connection Encapsulation itself. */
const V20_INSIDE = ['connect_minimal_clean_start', 'connection_encapsulation_pingreq', 'connection_encapsulation_publish'];
const NODE = hex('c0a80001');

describe('0xFE: 2.0 Connection Encapsulation beside 1.2 forwarder encapsulation', () => {
  it('has the fixture vectors to test against', () => {
    assert.equal(CONNECTION_ENCAPSULATIONS.length, 2);
    for (const name of V20_INSIDE) assert.ok(file20.some((v) => v.name === name), name);
  });

  it('tells them apart by Length against the datagram, as the reference says', () => {
    for (const v of CONNECTION_ENCAPSULATIONS) {
      assert.equal(isEncapsulated(hex(v.hex)), false, v.name);
      assert.equal(decapsulate(hex(v.hex)), undefined, v.name);
    }
    assert.equal(isEncapsulated(v20('v12_forwarder_encapsulation')), true);
    assert.deepEqual(decapsulate(v20('v12_forwarder_encapsulation'))?.message, hex('08040401003c6331'));
  });

  it('hands a 2.0 packet inside a 1.2 forwarder frame up intact, a Connection Encapsulation included', () => {
    for (const name of V20_INSIDE) {
      const inner = v20(name);
      const parts = decapsulate(encapsulate(NODE, inner));
      assert.ok(parts, name);
      assert.deepEqual(parts.message, inner, name);
      assert.deepEqual(parts.nodeId, NODE, name);
    }
  });

  it('behind the forwarder decorator: a Connection Encapsulation goes up whole with the sender as peer', async () => {
    const hub = new MemoryTransport();
    const fwd = new ForwarderTransport(hub);
    await fwd.open();
    const forwarder = hub.connect('radio');
    const got = new Queue<{ key: string; frame: Buffer }>();
    fwd.on('frame', (peer, frame) => got.push({ key: peer.key, frame }));
    for (const v of CONNECTION_ENCAPSULATIONS) {
      await forwarder.send(forwarder.gateway, hex(v.hex));
      assert.deepEqual(await got.next(), { key: 'mem:radio', frame: hex(v.hex) }, v.name);
    }
    await forwarder.send(forwarder.gateway, encapsulate(NODE, v20('connection_encapsulation_pingreq')));
    assert.deepEqual(await got.next(), { key: 'mem:radio/fwd:c0a80001', frame: v20('connection_encapsulation_pingreq') });
    assert.equal(fwd.stats().dropped.malformed, 0);
    await fwd.close();
  });

  for (const forwarder of [true, false]) {
    it(`over UDP (forwarder: ${forwarder}): a Connection Encapsulation goes up whole, never dropped as a forwarder frame`, async () => {
      const t = new UdpTransport({ host: '127.0.0.1', port: 0, forwarder });
      await t.open();
      const got = new Queue<{ key: string; frame: Buffer }>();
      t.on('frame', (peer, frame) => got.push({ key: peer.key, frame }));
      const raw = dgram.createSocket('udp4');
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', r));
      const from = `udp:127.0.0.1:${raw.address().port}`;
      for (const v of CONNECTION_ENCAPSULATIONS) {
        raw.send(hex(v.hex), t.address().port, '127.0.0.1');
        assert.deepEqual(await got.next(), { key: from, frame: hex(v.hex) }, v.name);
      }
      if (forwarder) {
        // and a 2.0 packet a 1.2 forwarder wrapped comes out of it intact
        raw.send(encapsulate(NODE, v20('connect_minimal_clean_start')), t.address().port, '127.0.0.1');
        assert.deepEqual(await got.next(), { key: `${from}/fwd:c0a80001`, frame: v20('connect_minimal_clean_start') });
      }
      const s = t.stats();
      assert.equal(s.dropped.malformed + s.dropped.unsupported, 0);
      await t.close();
      await new Promise<void>((r) => raw.close(() => r()));
    });
  }
});
