/**
 * #16 §3, transparent mode against a real mosquitto: a device with the gateway's own upstream
 * client id used to knock the gateway's connection off (and back, forever); each will update
 * reopened the device's upstream connection, so 50 datagrams opened 52 connections. Now the id
 * collision is refused, will updates are rate limited per client and their reopening debounced,
 * and upstream connections are capped (`upstream.maxConnections`). Shipped defaults but for the
 * cap's own test, which lowers it to reach it with three devices.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReturnCode } from '../../src/codec/index.js';
import { connectRefusal, markerUp, mosquittoSuite, until } from './harness.js';


describe('transparent mode: id collision, will updates, connection cap (real mosquitto)', () => {
  const { gateway, node, watcher } = mosquittoSuite({ mode: 'transparent' });

  it("refuses a device whose upstream client id is the gateway's own; the gateway's connection stays up", async () => {
    const gw = await gateway({ clientId: 'site-gw' });
    const connectsBefore = gw.bridge.status().counters.connects;
    assert.equal(await connectRefusal(gw.udpPort, 'site-gw'), ReturnCode.NOT_SUPPORTED);
    assert.equal(gw.bridge.status().counters.refusedIdCollision, 1);
    // A device that does connect shows the bridge is still whole, and its own connection never went.
    await node(gw, 'site-dev');
    const s = gw.bridge.status();
    assert.equal(s.connected, true);
    assert.equal(s.counters.disconnects, 0);
    assert.equal(s.counters.connects, connectsBefore + 1, 'one connection opened: the device\'s');
  });

  it('50 will updates in a burst open one more upstream connection, not 50', async () => {
    const gw = await gateway();
    const w = await watcher('dev/#');
    const n = await node(gw, 'will-flood', { will: { topic: 'dev/will-flood/status', payload: 'gone-0', qos: 0 } });
    const before = gw.bridge.status().counters.connects;
    for (let i = 1; i <= 50; i++) {
      const msg = Buffer.from(`gone-${i}`);
      n.sendRaw(Buffer.concat([Buffer.from([2 + msg.length, 0x1c]), msg])); // WILLMSGUPD
    }
    const limited = (): number => gw.running.gateway.stats.dropped.rateLimited ?? 0;
    await until(() => limited() === 46, 5000, 'the updates over the burst of 4 refused');
    await until(() => gw.bridge.status().counters.connects === before + 1, 5000, 'the debounced reopening');
    // Whatever else the burst would open has had its chance by the time a later message is through.
    await markerUp(n, w, 'dev/will-flood/marker');
    assert.equal(gw.bridge.status().counters.connects, before + 1);
  });

  it('refuses a CONNECT over upstream.maxConnections with 0x01, and takes it once a connection is free', async () => {
    // Lowered so three devices reach it; the default (1000) is what the test above runs under.
    const gw = await gateway({ maxConnections: 3 });
    const a = await node(gw, 'cap-a');
    await node(gw, 'cap-b');
    assert.equal(await connectRefusal(gw.udpPort, 'cap-c'), ReturnCode.CONGESTION);
    assert.equal(gw.bridge.status().counters.refusedConnectionCap, 1);
    await a.disconnect();
    await until(() => gw.bridge.status().clients?.total === 1, 5000, "cap-a's connection gone");
    // cap-a's upstream connection counts until its socket has closed, which the client count does
    // not show: the next CONNECT is taken once it has (retried as a device would after T_WAIT).
    await until(async () => (await connectRefusal(gw.udpPort, 'cap-c')) === undefined, 10_000, 'cap-c taken once a connection is free', 100);
  });
});
