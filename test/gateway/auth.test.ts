/** `auth`: allow-list with peer patterns, QoS -1 rules, ACL, takeover policy (issue 9). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock } from '../../src/clock.js';
import { ConfigError, defaultConfig, parseConfig } from '../../src/config/index.js';
import { compilePeerPattern, filterCovers } from '../../src/gateway/auth.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { LogThrottle } from '../../src/log-throttle.js';
import { encode } from '../../src/codec/index.js';
import type { Logger } from '../../src/logger.js';
import { harness, MemoryBroker, RecordingTransport, settle, topicMatches, type TestClient } from './harness.js';

type Auth = ReturnType<typeof defaultConfig>['auth'];

const pub = (c: TestClient, qos: -1 | 0 | 1 | 2, topicId: number, msgId = qos > 0 ? 7 : 0): void =>
  c.send({ type: 'PUBLISH', dup: false, qos, retain: false, msgId, topicIdType: 'predefined', topicId, payload: Buffer.from('x') });

const connectRaw = (c: TestClient, clientId: string): void =>
  c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId });

/** Someone unaffected by the refusal is still served. */
async function stillServed(c: TestClient): Promise<void> {
  c.send({ type: 'PINGREQ' });
  await settle();
  c.one('PINGRESP');
}

describe('auth: peer patterns', () => {
  const cases: Array<[string, string, boolean]> = [
    ['udp:10.1.0.0/16', 'udp:10.1.200.3:40001', true],
    ['udp:10.1.0.0/16', 'udp:10.2.0.3:40001', false],
    ['udp:10.1.0.0/16', 'udp:[::ffff:10.1.2.3]:5', true],
    ['udp:10.1.0.0/16', 'udp:10.1.0.9:1884/fwd:0a0b', true], // behind a forwarder: the forwarder's address
    ['udp:10.1.0.0/16', 'udp:10.1.200.3:40001/fe:127.0.0.1:1884', true], // behind a trusted front end: the device's
    ['udp:127.0.0.0/8', 'udp:10.1.200.3:40001/fe:127.0.0.1:1884', false], // ... not the front end's
    ['udp:fd00::/8', 'udp:[fd12::1]:40001/fe:[::1]:1884', true],
    ['udp:fd00::/8', 'udp:[fd12::1]:40001', true],
    ['udp:fd00::/8', 'udp:[fe80::1%eth0]:40001', false],
    ['udp:::1/128', 'udp:[::1]:40001', true],
    ['udp:10.1.0.0/16', 'xbee:0013a20040a1b2c3', false],
    ['xbee:0013A200*', 'xbee:0013a20040a1b2c3', true],
    ['xbee:0013a200*', 'xbee:0013a30040a1b2c3', false],
    ['serial:/dev/ttyUSB0', 'serial:/dev/ttyUSB0', true],
    ['serial:/dev/ttyUSB0', 'serial:/dev/ttyUSB1', false],
    ['udp:127.0.0.1:*', 'udp:127.0.0.1:40001', true],
    ['udp:127.0.0.1:*', 'udp:127.0.0.10:40001', false],
    ['serial:/dev/ttyUSB0/fwd:*', 'serial:/dev/ttyUSB0/fwd:01', true],
  ];
  for (const [pattern, key, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${key}`, () => assert.equal(compilePeerPattern(pattern)(key), expected));
  }

  it('rejects an impossible CIDR in the config, naming the field', () => {
    assert.throws(
      () => parseConfig({ transports: [{ type: 'udp' }], auth: { clients: [{ clientId: 'a', peers: ['udp:10.0.0.0/33'] }] } }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('auth.clients[0].peers[0]'),
    );
    assert.throws(() => parseConfig({ transports: [{ type: 'udp' }], auth: { takeover: 'sometimes' } }), ConfigError);
  });
});

describe('auth: filterCovers', () => {
  const examples: Array<[string, string, boolean]> = [
    ['a/#', 'a/b/+', true],
    ['a/b/#', 'a/#', false],
    ['a/#', 'a', true],
    ['a/+', 'a', false],
    ['a/+', 'a/#', false],
    ['+/b', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/b', 'a/+', false],
    ['+/#', '#', true],
    ['x/+/#', 'x/#', false],
  ];
  for (const [outer, inner, expected] of examples) {
    it(`${outer} ${expected ? 'covers' : 'does not cover'} ${inner}`, () => assert.equal(filterCovers(outer, inner), expected));
  }

  it('agrees with brute force over every topic of a small universe', () => {
    // Filters of at most 3 levels are told apart by topics of at most 4 levels over their own
    // literals, one literal neither uses, and a `$` one.
    const words = ['a', 'b', 'z', '$s', ''];
    const topics: string[] = [];
    let level = [''];
    for (let depth = 1; depth <= 4; depth++) {
      level = depth === 1 ? words : level.flatMap((t) => words.map((w) => `${t}/${w}`));
      topics.push(...level);
    }
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '$s', '', '+'), { minLength: 0, maxLength: 3 }), fc.boolean())
      .filter(([levels, hash]) => levels.length + (hash ? 1 : 0) > 0)
      .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'));
    fc.assert(
      fc.property(filter, filter, (outer, inner) => {
        const brute = topics.every((t) => !topicMatches(inner, t) || topicMatches(outer, t));
        assert.equal(filterCovers(outer, inner), brute, `${outer} vs ${inner}`);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('auth: allow-list (auth.clients)', () => {
  const auth: Partial<Auth> = { clients: [{ clientId: 'sensor-01', peers: ['udp:10.1.0.0/16'] }, { clientId: 'free' }] };

  it('refuses an unknown client id and a known id from the wrong peer with CONNACK 0x03; others are served', async () => {
    const h = await harness({ auth });
    const ok = h.client('udp:10.1.0.5:1000');
    await ok.connect('sensor-01');
    const stranger = h.client('udp:10.1.0.6:1000');
    connectRaw(stranger, 'intruder');
    assert.equal(stranger.one('CONNACK').returnCode, 3);
    const wrongPeer = h.client('udp:192.168.1.5:1000');
    connectRaw(wrongPeer, 'sensor-01');
    assert.equal(wrongPeer.one('CONNACK').returnCode, 3);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 2);
    assert.equal(h.gateway.sessions.has('intruder'), false);
    // The refused CONNECT for sensor-01 from elsewhere left the real one alone.
    assert.equal(h.gateway.sessions.get('sensor-01')?.link?.peer.key, 'udp:10.1.0.5:1000');
    await stillServed(ok);
    await h.client('xbee:0013a200').connect('free'); // no peers: from anywhere
  });

  it('does not let a PINGREQ naming an allowed sleeper wake it from a peer the list refuses', async () => {
    const h = await harness({ auth });
    const real = h.client('udp:10.1.0.5:1000');
    await real.connect('sensor-01');
    await real.subscribe('cmd', 0);
    real.send({ type: 'DISCONNECT', duration: 60 });
    real.one('DISCONNECT');
    await h.publishFromBroker('cmd', 'secret');
    const thief = h.client('udp:192.168.1.5:1000');
    thief.send({ type: 'PINGREQ', clientId: 'sensor-01' });
    thief.one('DISCONNECT');
    assert.equal(h.gateway.stats.dropped.notAuthorized, 1);
    // The sleeper itself, from an allowed address, still gets its message.
    const moved = h.client('udp:10.1.0.9:1000');
    moved.send({ type: 'PINGREQ', clientId: 'sensor-01' });
    const [pub, resp] = moved.take();
    assert.equal(pub?.type === 'PUBLISH' && pub.payload.toString(), 'secret');
    assert.equal(resp?.type, 'PINGRESP');
  });

  it('lets everyone in when absent', async () => {
    const h = await harness();
    await h.client('udp:1.2.3.4:5').connect('anyone');
  });

  it('logs refusals at most once per interval per reason, with the count suppressed', async () => {
    const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const record = (obj: object, msg: string): void => void lines.push({ obj: obj as Record<string, unknown>, msg });
    const logger: Logger = { error: record, warn: record, info: record, debug: () => undefined, trace: () => undefined };
    const clock = new FakeClock(0);
    const options = { ...defaultConfig(), auth: { ...defaultConfig().auth, clients: [{ clientId: 'ok' }] } };
    const gw = new Gateway({ options, broker: new MemoryBroker(), clock, logger });
    const t = new RecordingTransport();
    gw.attach(t);
    await gw.start();
    const refusals = (): number => lines.filter((l) => l.obj.reason === 'notAuthorized').length;
    const connect = { type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'bad' } as const;
    for (let i = 0; i < 5; i++) t.inject(`p${i}`, encode(connect));
    assert.equal(refusals(), 1);
    clock.advance(10_000);
    t.inject('p9', encode(connect));
    assert.equal(refusals(), 2);
    assert.equal(lines.filter((l) => l.obj.reason === 'notAuthorized').at(-1)?.obj.suppressed, 4);
    assert.equal(gw.stats.dropped.notAuthorized, 6);
    await gw.stop();
  });

  it('LogThrottle keeps reasons apart', () => {
    const clock = new FakeClock(0);
    const l = new LogThrottle(clock, 1000);
    assert.equal(l.hit('a'), 0);
    assert.equal(l.hit('b'), 0);
    assert.equal(l.hit('a'), undefined);
    clock.advance(1000);
    assert.equal(l.hit('a'), 1);
  });
});

describe('auth: QoS -1 (auth.qosMinusOne)', () => {
  const predefinedTopics = { '5': 'open/5', '6': 'closed/6' };

  it('accepts QoS -1 from anyone to anything by default', async () => {
    const h = await harness({ predefinedTopics });
    pub(h.client('udp:9.9.9.9:1'), -1, 6);
    await settle();
    assert.deepEqual(h.broker.on('closed/6'), ['x']);
  });

  it('restricts predefined ids, short topics and peers', async () => {
    const h = await harness({ predefinedTopics, auth: { qosMinusOne: { topics: [5], shortTopics: false, peers: ['udp:10.0.0.0/8'] } } });
    const inside = h.client('udp:10.0.0.1:1');
    pub(inside, -1, 5);
    pub(inside, -1, 6);
    inside.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'short', topicName: 'ab', payload: Buffer.from('x') });
    pub(h.client('udp:11.0.0.1:1'), -1, 5);
    await settle();
    assert.deepEqual(h.broker.on('open/5'), ['x']);
    assert.deepEqual(h.broker.on('closed/6'), []);
    assert.deepEqual(h.broker.on('ab'), []);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 3);
    inside.nothing(); // QoS -1 is never answered (§4.8)
  });

  it('with an allow-list and no qosMinusOne.peers, accepts only peers an allowed client may use', async () => {
    const h = await harness({ predefinedTopics, auth: { clients: [{ clientId: 's', peers: ['xbee:0013a200*'] }] } });
    pub(h.client('xbee:0013a20011111111'), -1, 5);
    pub(h.client('udp:1.2.3.4:5'), -1, 5);
    await settle();
    assert.deepEqual(h.broker.on('open/5'), ['x']);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 1);
  });
});

describe('auth: ACL (auth.acl)', () => {
  const predefinedTopics = { '1': 'sensors/sensor-01/t', '2': 'sensors/sensor-02/t', '3': 'cmd/sensor-01/x' };
  const auth: Partial<Auth> = {
    acl: [
      { clientId: 'sensor-%', publish: ['sensors/%c/#'], subscribe: ['cmd/%c/#'] },
      { clientId: '*', publish: ['public/#'], subscribe: [] },
    ],
  };

  it('answers a denied PUBLISH with PUBACK 0x03 at QoS 0, 1 and 2, and passes allowed ones', async () => {
    const h = await harness({ predefinedTopics, auth });
    const c = h.client('a');
    await c.connect('sensor-01');
    const other = h.client('b');
    await other.connect('sensor-02');
    for (const qos of [0, 1, 2] as const) {
      pub(c, qos, 2);
      await settle();
      const ack = c.one('PUBACK');
      assert.equal(ack.returnCode, 3);
      assert.equal(ack.topicId, 2);
    }
    pub(c, 1, 1);
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('sensors/sensor-01/t'), ['x']);
    assert.deepEqual(h.broker.on('sensors/sensor-02/t'), []);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 3);
    // sensor-02 may publish its own topic: the refusals of sensor-01 did not touch it.
    pub(other, 1, 2);
    await settle();
    assert.equal(other.one('PUBACK').returnCode, 0);
  });

  it('drops and counts a denied QoS -1 from a connected client', async () => {
    const h = await harness({ predefinedTopics, auth });
    const c = h.client('a');
    await c.connect('sensor-01');
    pub(c, -1, 2);
    pub(c, -1, 1);
    await settle();
    c.nothing();
    assert.deepEqual(h.broker.on('sensors/sensor-02/t'), []);
    assert.deepEqual(h.broker.on('sensors/sensor-01/t'), ['x']);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 1);
  });

  it('grants a SUBSCRIBE only within an allowed filter, SUBACK 0x03 otherwise', async () => {
    const h = await harness({ predefinedTopics, auth });
    const c = h.client('a');
    await c.connect('sensor-01');
    assert.equal((await c.subscribe('cmd/sensor-01/#', 1, 1)).returnCode, 0);
    assert.equal((await c.subscribe('cmd/sensor-01/+/x', 0, 2)).returnCode, 0);
    assert.equal((await c.subscribe('cmd/#', 0, 3)).returnCode, 3); // wider than cmd/sensor-01/#
    assert.equal((await c.subscribe('cmd/sensor-02/#', 0, 4)).returnCode, 3);
    assert.equal((await c.subscribe('#', 0, 5)).returnCode, 3);
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 6, topicIdType: 'predefined', topicId: 3 });
    assert.equal(c.one('SUBACK').returnCode, 0);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 3);
    assert.deepEqual([...(h.gateway.sessions.get('sensor-01')?.subscriptions.keys() ?? [])].sort(), ['cmd/sensor-01/#', 'cmd/sensor-01/+/x', 'cmd/sensor-01/x']);
  });

  it('gives a client matched by no rule nothing, and a wildcard-laden client id nothing from %c rules', async () => {
    const h = await harness({ predefinedTopics, auth: { acl: [{ clientId: 'sensor-%', publish: ['sensors/%c/#'], subscribe: ['cmd/%c/#'] }] } });
    const nobody = h.client('a');
    await nobody.connect('lamp');
    assert.equal((await nobody.subscribe('cmd/lamp/#')).returnCode, 3);
    pub(nobody, 1, 1);
    await settle();
    assert.equal(nobody.one('PUBACK').returnCode, 3);
    // "sensor-+" would turn cmd/%c/# into cmd/sensor-+/# - still literal in MQTT, but "sensor-#/.."
    // or a "/" would widen it; such ids get nothing from a %c rule.
    const sly = h.client('b');
    await sly.connect('sensor-/x');
    assert.equal((await sly.subscribe('cmd/sensor-/x/#')).returnCode, 3);
    // REGISTER of any name is still fine: a name is not data (§4.5).
    assert.ok((await nobody.register('secret/topic')) > 0);
    await stillServed(nobody);
  });

  it('holds a will to the ACL: WILLTOPIC gets CONNACK 0x03, WILLTOPICUPD gets 0x03', async () => {
    const h = await harness({ predefinedTopics, auth });
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sensor-01' });
    c.one('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'cmd/sensor-02/x' });
    assert.equal(c.one('CONNACK').returnCode, 3);
    await c.connectWithWill('sensor-01', { topic: 'sensors/sensor-01/status', message: 'gone' });
    c.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'elsewhere' });
    assert.equal(c.one('WILLTOPICRESP').returnCode, 3);
    assert.equal(h.gateway.sessions.get('sensor-01')?.will?.topic, 'sensors/sensor-01/status');
    assert.equal(h.gateway.stats.dropped.notAuthorized, 2);
  });
});

describe('auth: takeover (auth.takeover)', () => {
  it('"deny" refuses a CONNECT for a connected id from another peer with 0x03; the holder keeps its session', async () => {
    const h = await harness({ auth: { takeover: 'deny' } });
    const a = h.client('a');
    await a.connect('dev');
    const b = h.client('b');
    connectRaw(b, 'dev');
    assert.equal(b.one('CONNACK').returnCode, 3);
    assert.equal(h.gateway.stats.dropped.takeoverRefused, 1);
    a.nothing(); // no DISCONNECT to the holder
    await stillServed(a);
    // The same peer reconnecting is no takeover.
    await a.connect('dev');
    // Once the holder is gone, another peer may have the id.
    a.send({ type: 'DISCONNECT' });
    a.one('DISCONNECT');
    await b.connect('dev');
  });

  it('"deny" refuses a sleeper\'s wake-up from another address', async () => {
    const h = await harness({ auth: { takeover: 'deny' } });
    const a = h.client('a');
    await a.connect('dev');
    a.send({ type: 'DISCONNECT', duration: 60 });
    a.one('DISCONNECT');
    const b = h.client('b');
    b.send({ type: 'PINGREQ', clientId: 'dev' });
    b.one('DISCONNECT');
    assert.equal(h.gateway.stats.dropped.takeoverRefused, 1);
    a.send({ type: 'PINGREQ', clientId: 'dev' });
    a.one('PINGRESP');
  });

  it('"deny" also covers a session in the middle of its will dance', async () => {
    const h = await harness({ auth: { takeover: 'deny' } });
    const a = h.client('a');
    a.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'dev' });
    a.one('WILLTOPICREQ');
    connectRaw(h.client('b'), 'dev');
    assert.equal(h.client('b').one('CONNACK').returnCode, 3);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'await-willtopic');
  });

  it('"allow" (the default) hands the id over and disconnects the old peer', async () => {
    const h = await harness();
    const a = h.client('a');
    await a.connect('dev');
    await h.client('b').connect('dev');
    a.one('DISCONNECT');
    assert.equal(h.gateway.stats.dropped.takeoverRefused, undefined);
  });
});
