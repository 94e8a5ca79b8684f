/**
 * The local MQTT listener's per-client lines with real parts (aedes, MQTT.js over TCP on
 * 127.0.0.1) and the shipped limits: a client id of 2 KB (MQTT allows 64 KB) is logged cut to a
 * bounded length, and a client reconnecting in a loop costs a bounded number of lines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import { PEER_LINE_BURST } from '../../src/log-throttle.js';
import { MAX_LOGGED_TEXT } from '../../src/logger.js';
import { until } from '../helpers/wait.js';

type Line = { level: string; obj: Record<string, unknown>; msg: string };

describe('local MQTT listener: per-client lines', () => {
  it('bounds the client id and the number of connect/disconnect lines', async () => {
    const lines: Line[] = [];
    const at = (level: string) => (obj: object, msg: string): void => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }], logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: () => undefined } });
    try {
      const l = broker.listeners[0]!;
      const url = `mqtt://${l.host}:${l.port}`;
      const CONNECTS = PEER_LINE_BURST + 10;
      for (let i = 0; i < CONNECTS; i++) {
        const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clientId: `${'z'.repeat(2048)}-${i}` });
        await c.endAsync();
      }
      await until(() => lines.filter((x) => x.msg === 'local MQTT client disconnected').length >= PEER_LINE_BURST);
      const connected = lines.filter((x) => x.msg === 'local MQTT client connected');
      assert.equal(connected.length, PEER_LINE_BURST, 'the window budget, then counted');
      for (const x of connected) {
        const id = x.obj.clientId as string;
        assert.ok(id.length <= MAX_LOGGED_TEXT + 20, `${id.length} characters logged`);
        assert.match(id, /…\(\d+ chars\)$/);
      }
    } finally {
      await broker.close();
    }
    // Closing says what was held back.
    const summary = lines.find((x) => x.msg.startsWith('local MQTT client connected ('));
    assert.equal(summary?.obj.heldBack, 10);
  });
});
