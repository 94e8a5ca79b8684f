/**
 * What the upstream broker may push to the bridge: a packet over `upstream.maxPacketBytes` (1 MiB
 * by default) closes the connection on its header, before MQTT.js buffers the body, and the
 * bridge hears why. The "broker" is a raw TCP server that answers CONNECT and then announces a
 * 200 MB PUBLISH, as a hostile or broken broker would; MQTT.js and the option mapping are real.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mqttOptionsFromConfig } from '../../src/bridge/connect-options.js';
import { BridgeError, BridgeErrorCode } from '../../src/bridge/errors.js';
import { mqttConnector } from '../../src/bridge/mqtt-upstream.js';
import { parseConfig, resolveUpstreamSecrets } from '../../src/config/index.js';
import { remainingLength } from '../helpers/mqtt-bytes.js';

/** A broker that accepts any CONNECT, then announces a PUBLISH of `announce` bytes and streams its body until the peer is gone or `limit` is sent. */
async function hostileBroker(announce: number, limit: number): Promise<{ port: number; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => {
      s.write(Uint8Array.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
      s.write(Uint8Array.from([0x30, ...remainingLength(announce), 0x00, 0x01, 0x74]));
      const chunk = Buffer.alloc(64 * 1024);
      void (async () => {
        while (!s.destroyed && sent < limit) {
          sent += chunk.length;
          if (!s.write(chunk)) await new Promise((r) => (s.once('drain', r), s.once('close', r)));
        }
        // All of it taken in: end, so that a bridge without the cap hears of it too.
        s.end();
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => sent,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('bridge: cap on what the upstream broker sends', () => {
  it('closes the connection on the header of a 200 MB PUBLISH, with the shipped default, and says why', { timeout: 30_000 }, async () => {
    const LIMIT = 64 * 1024 * 1024;
    const broker = await hostileBroker(200 * 1024 * 1024, LIMIT);
    try {
      const config = parseConfig({ transports: [{ type: 'udp' }], upstream: { url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'gw', topics: [{ pattern: 'a/#', direction: 'in' }] } });
      const options = mqttOptionsFromConfig(config.upstream!, await resolveUpstreamSecrets(config.upstream!, {}));
      assert.equal(options.maxPacketBytes, 1024 * 1024);
      let closedWith: Error | undefined;
      let connected = false;
      const closed = new Promise<void>((resolve) => {
        mqttConnector(options)({
          connected: () => (connected = true),
          message: () => assert.fail('no message may come of it'),
          closed: (err) => {
            closedWith = err;
            resolve();
          },
        });
      });
      await closed;
      assert.equal(connected, true);
      assert.ok(closedWith instanceof BridgeError, String(closedWith));
      assert.equal(closedWith.code, BridgeErrorCode.PACKET_TOO_LARGE);
      assert.ok(broker.sent() < LIMIT, `the bridge took ${broker.sent()} bytes before closing`);
    } finally {
      await broker.close();
    }
  });
});
