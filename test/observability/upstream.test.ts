/**
 * The bridge seen through /metrics and /healthz, in process: an upstream broker (a second local
 * broker core on a free port) that comes and goes, and an MQTT-SN client whose QoS 1 messages
 * queue while it is away.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import type { BrokerCore } from '../../src/broker/types.js';
import { parseConfig } from '../../src/config/index.js';
import { createGateway, type RunningGateway } from '../../src/index.js';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { getJson, scrape, until, valueOf } from './helpers.js';

describe('observability: upstream status', () => {
  let upstream: BrokerCore | undefined;
  let upstreamPort: number;
  let running: RunningGateway;
  let client: SnClient;
  let httpPort: number;
  let topicId: number;

  before(async () => {
    upstreamPort = await freeTcpPort();
    upstream = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: upstreamPort }] });
    const udpPort = await freeUdpPort();
    running = await createGateway(
      parseConfig({
        transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
        broker: { listen: [] },
        timers: { advertiseIntervalSec: 0 },
        upstream: {
          url: `mqtt://127.0.0.1:${upstreamPort}`,
          clientId: 'obs-gw',
          topics: [{ pattern: 'up/#', qos: 1 }],
          queue: { maxMessages: 2 },
          reconnect: { initialMs: 100, maxMs: 200 },
          connectTimeoutMs: 1000,
        },
        http: { enabled: true, port: 0 },
      }),
      { env: {} },
    );
    httpPort = running.http!.port;
    client = await SnClient.open(udpPort);
    await client.connect('obs-up');
    client.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'up/t' });
    ({ topicId } = await client.next('REGACK'));
  });

  after(async () => {
    await client?.close();
    await running?.close();
    await upstream?.close();
  });

  const metric = async (name: string): Promise<number | undefined> => valueOf((await scrape(httpPort)).samples, name);

  it('reports the upstream connected, and the queue and its limit', async () => {
    await until(() => running.bridge?.connected === true, 5000, 'bridge connected');
    const { samples } = await scrape(httpPort);
    assert.equal(valueOf(samples, 'mqttsn_upstream_connected'), 1);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_depth'), 0);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_limit'), 2);
    const h = await getJson(httpPort, '/healthz');
    assert.equal(h.status, 200);
    assert.equal((h.body as { upstream: { connected: boolean } }).upstream.connected, true);
  });

  it('stays ready while the upstream is away and the queue has room; not ready once it is full', async () => {
    await upstream!.close();
    upstream = undefined;
    await until(() => running.bridge?.connected === false, 5000, 'bridge disconnected');
    assert.equal(await metric('mqttsn_upstream_connected'), 0);
    assert.equal((await getJson(httpPort, '/healthz')).status, 200, 'queueing is what the bridge is for');

    for (let i = 0; i < 2; i++) {
      client.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 10 + i, payload: Buffer.from(`q${i}`), topicIdType: 'normal', topicId });
      await client.next('PUBACK');
    }
    // The bridge queues asynchronously to the PUBACK.
    await until(async () => (await metric('mqttsn_upstream_queue_depth')) === 2, 5000, 'both messages in the upstream queue');
    const h = await getJson(httpPort, '/healthz');
    assert.equal(h.status, 503);
    assert.deepEqual((h.body as { reasons: string[] }).reasons, ['upstream disconnected and its queue is full (2 of 2 messages)']);
  });
});
