/**
 * Issue #19, end to end: the gateway process (default limits) with the real broker core, a local
 * MQTT subscriber that stops reading, and MQTT-SN clients publishing QoS 0 over real UDP. The
 * subscriber's socket fills, aedes waits for it, and unsettled publishes pile up in the broker
 * core; the gateway sheds QoS 0 past its backlog bound, says so, and keeps answering.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { until } from '../helpers/wait.js';
import { SnClient, startGateway } from './gateway-process.js';

/** MQTT 3.1.1 CONNECT (clean session, keep-alive 0) and SUBSCRIBE to `ld` at QoS 0, by hand. */
function connectAndSubscribe(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const connectBody = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, id.length]), id]);
  const subscribeBody = Buffer.from([0, 1, 0, 2, 0x6c, 0x64, 0]);
  return Buffer.concat([Buffer.from([0x10, connectBody.length]), connectBody, Buffer.from([0x82, subscribeBody.length]), subscribeBody]);
}

describe('gateway process: a local subscriber that stops reading', () => {
  it('sheds QoS 0 publishes (logged with reason "overloaded") instead of growing, and keeps serving clients', async () => {
    const gw = await startGateway({}, { logLevel: 'warn' });
    const sub = connect(gw.mqttPort, '127.0.0.1');
    const clients: SnClient[] = [];
    try {
      await once(sub, 'connect');
      // The smallest receive buffer the kernel allows, so that it fills after a few messages.
      sub.setNoDelay(true);
      sub.write(connectAndSubscribe('stalled-subscriber'));
      let got = 0;
      const counting = (d: Buffer): void => {
        got += d.length;
      };
      sub.on('data', counting);
      // CONNACK (4 bytes) and SUBACK (5 bytes): subscribed.
      await until(() => got >= 9, 10_000, 'CONNACK and SUBACK');
      sub.pause();

      // Eight clients, each within the default per-peer publish rate's burst of 4000.
      for (let i = 0; i < 8; i++) {
        const c = await SnClient.open(gw.udpPort);
        await c.connect(`flood-${i}`);
        clients.push(c);
      }
      // Large payloads fill the subscriber's kernel buffers in fewer messages; the bound counts messages.
      const payload = Buffer.alloc(2000, 0x61);
      const shed = (): boolean => gw.lines.some((l) => l.includes('"reason":"overloaded"'));
      // Bounded: at most 400 rounds of 8 x 10 messages (within each client's default publish
      // burst of 4000), each round waited for with a PINGREQ so that the gateway's UDP buffer
      // does not overflow and lose them before they count.
      for (let round = 0; round < 400 && !shed(); round++) {
        for (const c of clients) {
          for (let n = 0; n < 10; n++) c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'short', topicName: 'ld', payload });
        }
        const last = clients[round % clients.length]!;
        last.send({ type: 'PINGREQ' });
        await last.next('PINGRESP', 20_000);
      }
      await until(shed, 30_000, 'a log line with reason "overloaded"');
      const line = JSON.parse(gw.lines.find((l) => l.includes('"reason":"overloaded"'))!) as { level: number; backlog: number };
      assert.equal(line.level, 40, 'logged as a warning');
      assert.ok(line.backlog >= 10_000, `the backlog was at its bound: ${line.backlog}`);

      // Still serving: a client's PINGREQ is answered.
      clients[0]!.send({ type: 'PINGREQ' });
      await clients[0]!.next('PINGRESP', 20_000);

      // Reading again, the subscriber gets what was kept.
      const before = got;
      sub.resume();
      await until(() => got > before + 100_000, 30_000, 'the subscriber to receive the backlog');
    } finally {
      sub.destroy();
      await Promise.all(clients.map((c) => c.close()));
      await gw.stop();
    }
  });
});
