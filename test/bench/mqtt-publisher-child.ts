/**
 * The baseline of the gateway benchmark: MQTT.js publishing straight to the gateway's broker
 * core, as many messages per second as it can, with the same timestamped payloads as the
 * MQTT-SN load. Run as `node --import tsx mqtt-publisher-child.ts '<json options>'`.
 */
import mqtt from 'mqtt';

interface Options {
  url: string;
  qos: 0 | 1;
  durationMs: number;
  topic: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const wallNow = (): number => performance.timeOrigin + performance.now();
const client = await mqtt.connectAsync(o.url, { reconnectPeriod: 0 });

let sent = 0;
let acked = 0;
const started = performance.now();
// A window of publishes whose callbacks have not come back: for QoS 1 the broker's PUBACK (MQTT
// has no one-at-a-time rule), for QoS 0 the write to the socket, so the generator never runs
// ahead of what the socket takes.
const window = o.qos === 0 ? 500 : 200;
await new Promise<void>((resolve) => {
  const pump = (): void => {
    if (performance.now() - started >= o.durationMs) {
      resolve();
      return;
    }
    const batch = window - (sent - acked);
    for (let i = 0; i < batch; i++) {
      const b = Buffer.allocUnsafe(20);
      b.writeDoubleBE(wallNow(), 0);
      b.writeUInt32BE(sent, 8);
      b.fill(0x61, 12);
      sent++;
      client.publish(o.topic, b, { qos: o.qos }, () => {
        acked++;
      });
    }
    setImmediate(pump);
  };
  pump();
});
const durationMs = performance.now() - started;
await client.endAsync();
process.stdout.write(`${JSON.stringify({ sent, durationMs })}\n`);
