/**
 * Validation: every kind of mistake gives an issue with its path and stable code, all mistakes
 * come back together, and what passes is fully defaulted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MqttSnError } from '../../src/errors.js';
import {
  ConfigError,
  ConfigIssueCode as C,
  defaultConfig,
  maskSecrets,
  parseConfig,
  parseConfigText,
  type ConfigIssue,
  type GatewayConfig,
  type LimitsConfig,
  type SerialTransportConfig,
  type TimersConfig,
  type UdpTransportConfig,
} from '../../src/config/index.js';

/** The issues a config produces; fails the test when it parses. */
function issuesOf(input: unknown): readonly ConfigIssue[] {
  try {
    parseConfig(input, 'test.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

function textIssuesOf(text: string): readonly ConfigIssue[] {
  try {
    parseConfigText(text, 'test.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail(`expected the text to be rejected:\n${text}`);
}

const pathsAndCodes = (issues: readonly ConfigIssue[]): Array<[string, string]> => issues.map((i) => [i.path, i.code]);

const udp = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'udp', ...extra });
const withTransports = (...transports: unknown[]): Record<string, unknown> => ({ transports });

// A field that has a default must not be optional in the parsed type, so no consumer re-applies
// defaults. `advertise` is the one optional field: without it there is no broadcast.
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
type NoneOptional<T> = [OptionalKeys<T>] extends [never] ? true : false;
const typeChecks: [
  NoneOptional<GatewayConfig>,
  NoneOptional<LimitsConfig>,
  NoneOptional<TimersConfig>,
  NoneOptional<SerialTransportConfig>,
  NoneOptional<Omit<UdpTransportConfig, 'advertise'>>,
  NoneOptional<GatewayConfig['broker']['listen'][number]>,
] = [true, true, true, true, true, true];

describe('config: defaults', () => {
  it('has no optional field where a default exists (compile time)', () => {
    assert.deepEqual(typeChecks, [true, true, true, true, true, true]);
  });

  it('fills every default for a minimal config', () => {
    const config = parseConfig({ transports: [{ type: 'udp' }] });
    const expected: GatewayConfig = {
      gatewayId: 1,
      transports: [{ type: 'udp', host: '0.0.0.0', port: 1884, forwarder: true, frontEnds: [], maxFrameSize: 1400, receiveBufferBytes: 4194304, sendBufferBytes: 1048576 }],
      predefinedTopics: {},
      qosMinusOne: { inlineTopicNames: false },
      broker: {
        listen: [{ host: '127.0.0.1', port: 1883 }],
        maxConnections: 1000,
        maxPacketBytes: 1024 * 1024,
        connectTimeoutMs: 10_000,
        maxRetainedMessages: 10_000,
        maxRetainedBytes: 16 * 1024 * 1024,
        maxRetainedPerClient: 1000,
      },
      limits: {
        maxSessions: 100_000,
        maxPendingConnects: 1000,
        maxRegistrationsPerClient: 1000,
        maxSubscriptionsPerClient: 100,
        sleepBufferMessages: 100,
        maxInflightQueue: 1000,
        maxBufferedBytesTotal: 64 * 1024 * 1024,
        maxTopicBytes: 256,
        maxTopicBytesTotal: 32 * 1024 * 1024,
        maxQos2AwaitingPubrel: 16,
        sessionExpirySec: 7 * 24 * 3600,
        idleSessionSec: 24 * 3600,
        rate: {
          enforce: 'underPressure',
          connectPerPeer: { perSecond: 5, burst: 10 },
          connectPerAddress: { perSecond: 20, burst: 100 },
          registerPerPeer: { perSecond: 50, burst: 200 },
          willUpdatePerClient: { perSecond: 0.2, burst: 4 },
          publishPerPeer: { perSecond: 2000, burst: 4000 },
          datagramsPerAddress: { perSecond: 5000, burst: 10_000 },
        },
        pressure: { sessionsPercent: 50, pendingConnectsPercent: 50, connectsPerSecond: 2000, eventLoopLagMs: 100, bufferedBytesPercent: 50 },
      },
      timers: { retryMs: 10_000, maxRetries: 3, keepAliveFactor: 1.5, advertiseIntervalSec: 900, connectTimeoutMs: 30_000 },
      log: { level: 'info' },
      upstream: null,
      // Built in code with no file to sit next to: memory (see src/config/store.ts).
      store: { type: 'memory', path: './mqttsn-gateway.db' },
      http: { enabled: false, host: '127.0.0.1', port: 9464 },
      shutdown: { graceMs: 5000 },
      // topics and shortTopics depend on whether auth.acl is set (src/gateway/auth.ts): absent here.
      auth: { qosMinusOne: { retain: false }, takeover: 'allow' },
    };
    assert.deepEqual(config, expected);
  });

  it('fills defaults inside a partly written section', () => {
    const config = parseConfig({ transports: [udp()], timers: { retryMs: 500 }, broker: { listen: [{ port: 0 }] } });
    assert.equal(config.timers.retryMs, 500);
    assert.equal(config.timers.maxRetries, 3);
    assert.deepEqual(config.broker.listen, [{ host: '127.0.0.1', port: 0 }]);
  });

  it('chooses the serial frame size by framing, and keeps one that is given', () => {
    const config = parseConfig(
      withTransports(
        { type: 'serial', path: '/dev/ttyUSB0' },
        { type: 'serial', path: '/dev/ttyUSB1', framing: 'xbee-api2' },
        { type: 'serial', path: '/dev/ttyUSB2', framing: 'xbee-api1', maxFrameSize: 100 },
        { type: 'serial', path: '/dev/ttyACM0', framing: 'raw' },
        { type: 'serial', path: '/dev/ttyACM1', framing: 'raw', partialFrameTimeoutMs: 40 },
      ),
    );
    assert.deepEqual(config.transports[0], {
      type: 'serial',
      path: '/dev/ttyUSB0',
      baudRate: 115_200,
      framing: 'slip',
      forwarder: false,
      maxFrameSize: 1024,
      partialFrameTimeoutMs: 500,
      reconnect: { initialMs: 500, maxMs: 30_000 },
    });
    assert.equal(config.transports[1]?.maxFrameSize, 84);
    assert.equal(config.transports[2]?.maxFrameSize, 100);
    // raw: bare frames need a short idle gap to get back in step after noise
    assert.deepEqual(config.transports.slice(3).map((t) => t.type === 'serial' && [t.maxFrameSize, t.partialFrameTimeoutMs]), [[1024, 100], [1024, 40]]);
  });

  it('keeps an advertise target, with its default port', () => {
    const config = parseConfig(withTransports(udp({ host: '::', advertise: { address: 'ff02::1%eth0' } })));
    const t = config.transports[0];
    assert.equal(t?.type, 'udp');
    assert.deepEqual(t.type === 'udp' ? t.advertise : undefined, { address: 'ff02::1%eth0', port: 1884 });
  });

  it('takes trusted front ends as addresses, CIDR blocks or address:port, and names a bad one and the contradiction with forwarder: false', () => {
    const ok = parseConfig(withTransports(udp({ frontEnds: ['10.0.0.5', '10.1.0.0/16', '127.0.0.1:1884', '[::1]:1884'] })));
    assert.deepEqual(ok.transports[0]?.type === 'udp' && ok.transports[0].frontEnds, ['10.0.0.5', '10.1.0.0/16', '127.0.0.1:1884', '[::1]:1884']);
    assert.deepEqual(pathsAndCodes(issuesOf(withTransports(udp({ frontEnds: ['10.0.0.5', 'frontend.lan'] })))), [['transports[0].frontEnds[1]', 'invalid_host']]);
    assert.deepEqual(pathsAndCodes(issuesOf(withTransports(udp({ forwarder: false, frontEnds: ['10.0.0.5'] })))), [['transports[0].frontEnds', 'inconsistent']]);
  });

  it('accepts "$schema" and leaves it out of the result', () => {
    const config = parseConfig({ $schema: './dist/gateway.config.schema.json', transports: [udp()] });
    assert.equal('$schema' in config, false);
  });

  it('defaultConfig() is one UDP transport on the loopback, fresh on every call', () => {
    const a = defaultConfig();
    assert.deepEqual(a.transports, [{ type: 'udp', host: '127.0.0.1', port: 1884, forwarder: true, frontEnds: [], maxFrameSize: 1400, receiveBufferBytes: 4194304, sendBufferBytes: 1048576 }]);
    a.limits.maxSessions = 1;
    assert.equal(defaultConfig().limits.maxSessions, 100_000);
  });

  it('maskSecrets() returns an equal copy', () => {
    const config = parseConfig({ transports: [udp()], predefinedTopics: { '1': 'a' } });
    const masked = maskSecrets(config);
    assert.deepEqual(masked, config);
    assert.notEqual(masked, config);
    assert.notEqual(masked.predefinedTopics, config.predefinedTopics);
  });

  it('accepts the edges of every range', () => {
    const config = parseConfig({
      gatewayId: 255,
      transports: [udp({ port: 65_535, maxFrameSize: 65_507 }), udp({ port: 0 }), udp({ port: 0 })],
      predefinedTopics: { '1': 'a', '65534': 'b', '300': '$SYS/x' },
      limits: { maxRegistrationsPerClient: 65_534, sleepBufferMessages: 0, maxInflightQueue: 0 },
      timers: { advertiseIntervalSec: 0, maxRetries: 0, keepAliveFactor: 1 },
    });
    assert.equal(config.gatewayId, 255);
  });
});

describe('config: each kind of mistake', () => {
  const cases: Array<[name: string, input: unknown, path: string, code: string]> = [
    ['not an object', [], '', C.INVALID_TYPE],
    ['transports missing', {}, 'transports', C.MISSING],
    ['transports empty', withTransports(), 'transports', C.INVALID_LENGTH],
    ['unknown top-level key', { transports: [udp()], gateway: { gwId: 1 } }, 'gateway', C.UNKNOWN_KEY],
    ['unknown key in a transport', withTransports(udp({ prot: 1884 })), 'transports[0].prot', C.UNKNOWN_KEY],
    ['unknown key in a section', { transports: [udp()], timers: { retryMS: 1 } }, 'timers.retryMS', C.UNKNOWN_KEY],
    ['gatewayId as a string', { transports: [udp()], gatewayId: '1' }, 'gatewayId', C.INVALID_TYPE],
    ['gatewayId too large', { transports: [udp()], gatewayId: 256 }, 'gatewayId', C.OUT_OF_RANGE],
    ['port too large', withTransports(udp(), udp({ port: 70_000 })), 'transports[1].port', C.OUT_OF_RANGE],
    ['port not an integer', withTransports(udp({ port: 1884.5 })), 'transports[0].port', C.INVALID_TYPE],
    ['port negative', withTransports(udp({ port: -1 })), 'transports[0].port', C.OUT_OF_RANGE],
    ['forwarder not a boolean', withTransports(udp({ forwarder: 'yes' })), 'transports[0].forwarder', C.INVALID_TYPE],
    ['udp frame size over a datagram', withTransports(udp({ maxFrameSize: 65_508 })), 'transports[0].maxFrameSize', C.OUT_OF_RANGE],
    ['host not a host', withTransports(udp({ host: 'not a host' })), 'transports[0].host', C.INVALID_HOST],
    ['advertise address a name', withTransports(udp({ advertise: { address: 'broadcast' } })), 'transports[0].advertise.address', C.INVALID_HOST],
    ['advertise without address', withTransports(udp({ advertise: {} })), 'transports[0].advertise.address', C.MISSING],
    ['advertise v6 from a v4 socket', withTransports(udp({ advertise: { address: 'ff02::1' } })), 'transports[0].advertise.address', C.ADDRESS_FAMILY],
    ['advertise v4 from a v6 socket', withTransports(udp({ host: '::1', advertise: { address: '255.255.255.255' } })), 'transports[0].advertise.address', C.ADDRESS_FAMILY],
    ['unknown transport type', withTransports({ type: 'tcp' }), 'transports[0].type', C.INVALID_VALUE],
    ['transport without type', withTransports({ port: 1 }), 'transports[0].type', C.MISSING],
    ['transport not an object', withTransports('udp'), 'transports[0]', C.INVALID_TYPE],
    ['serial without path', withTransports({ type: 'serial' }), 'transports[0].path', C.MISSING],
    ['serial with empty path', withTransports({ type: 'serial', path: '' }), 'transports[0].path', C.INVALID_LENGTH],
    ['unknown framing', withTransports({ type: 'serial', path: '/dev/x', framing: 'xbee' }), 'transports[0].framing', C.INVALID_VALUE],
    ['baud rate zero', withTransports({ type: 'serial', path: '/dev/x', baudRate: 0 }), 'transports[0].baudRate', C.OUT_OF_RANGE],
    [
      'reconnect initial above max',
      withTransports({ type: 'serial', path: '/dev/x', reconnect: { initialMs: 5000, maxMs: 1000 } }),
      'transports[0].reconnect.initialMs',
      C.INCONSISTENT,
    ],
    ['two udp on one address', withTransports(udp({ port: 2000 }), udp({ port: 2000 })), 'transports[1]', C.DUPLICATE_ADDRESS],
    ['udp under a v4 wildcard', withTransports(udp({ host: '0.0.0.0' }), udp({ host: '127.0.0.1' })), 'transports[1]', C.DUPLICATE_ADDRESS],
    ['udp under the IPv6 wildcard', withTransports(udp({ host: '::' }), udp({ host: '::1' })), 'transports[1]', C.DUPLICATE_ADDRESS],
    ['one serial device twice', withTransports({ type: 'serial', path: '/dev/ttyUSB0' }, { type: 'serial', path: '/dev/ttyUSB0' }), 'transports[1].path', C.DUPLICATE_ADDRESS],
    ['two listeners on one address', { transports: [udp()], broker: { listen: [{}, { port: 1883 }] } }, 'broker.listen[1]', C.DUPLICATE_ADDRESS],
    ['listener packets over MQTT\'s own limit', { transports: [udp()], broker: { maxPacketBytes: 2 ** 29 } }, 'broker.maxPacketBytes', C.OUT_OF_RANGE],
    [
      'upstream packet cap below a CONNACK and a topic',
      { transports: [udp()], upstream: { url: 'mqtt://broker', clientId: 'gw', topics: [{ pattern: '#' }], maxPacketBytes: 100 } },
      'upstream.maxPacketBytes',
      C.OUT_OF_RANGE,
    ],
    ['listener without connections', { transports: [udp()], broker: { maxConnections: 0 } }, 'broker.maxConnections', C.OUT_OF_RANGE],
    ['listener CONNECT wait not an integer', { transports: [udp()], broker: { connectTimeoutMs: 1.5 } }, 'broker.connectTimeoutMs', C.INVALID_TYPE],
    ['predefined id 0', { transports: [udp()], predefinedTopics: { '0': 'a' } }, 'predefinedTopics["0"]', C.TOPIC_ID_OUT_OF_RANGE],
    ['predefined id 65535', { transports: [udp()], predefinedTopics: { '65535': 'a' } }, 'predefinedTopics["65535"]', C.TOPIC_ID_OUT_OF_RANGE],
    ['predefined id 70000', { transports: [udp()], predefinedTopics: { '70000': 'a' } }, 'predefinedTopics["70000"]', C.TOPIC_ID_OUT_OF_RANGE],
    ['predefined id not a number', { transports: [udp()], predefinedTopics: { boot: 'a' } }, 'predefinedTopics.boot', C.INVALID_TOPIC_ID],
    ['predefined id with a leading zero', { transports: [udp()], predefinedTopics: { '01': 'a' } }, 'predefinedTopics["01"]', C.INVALID_TOPIC_ID],
    ['predefined name twice', { transports: [udp()], predefinedTopics: { '1': 'a/b', '2': 'a/b' } }, 'predefinedTopics["2"]', C.DUPLICATE_TOPIC_NAME],
    ['predefined name with +', { transports: [udp()], predefinedTopics: { '1': 'a/+/c' } }, 'predefinedTopics["1"]', C.INVALID_TOPIC_NAME],
    ['predefined name with #', { transports: [udp()], predefinedTopics: { '1': 'a/#' } }, 'predefinedTopics["1"]', C.INVALID_TOPIC_NAME],
    ['predefined name empty', { transports: [udp()], predefinedTopics: { '1': '' } }, 'predefinedTopics["1"]', C.INVALID_TOPIC_NAME],
    ['predefined name not a string', { transports: [udp()], predefinedTopics: { '1': 7 } }, 'predefinedTopics["1"]', C.INVALID_TYPE],
    ['maxRegistrationsPerClient above the id space', { transports: [udp()], limits: { maxRegistrationsPerClient: 65_535 } }, 'limits.maxRegistrationsPerClient', C.OUT_OF_RANGE],
    ['keepAliveFactor below 1', { transports: [udp()], timers: { keepAliveFactor: 0.5 } }, 'timers.keepAliveFactor', C.OUT_OF_RANGE],
    ['T_ADV over 16 bits', { transports: [udp()], timers: { advertiseIntervalSec: 65_536 } }, 'timers.advertiseIntervalSec', C.OUT_OF_RANGE],
    ['timer beyond setTimeout', { transports: [udp()], timers: { retryMs: 2 ** 31 } }, 'timers.retryMs', C.OUT_OF_RANGE],
    ['unknown log level', { transports: [udp()], log: { level: 'verbose' } }, 'log.level', C.INVALID_VALUE],
    ['qosMinusOne not an object', { transports: [udp()], qosMinusOne: true }, 'qosMinusOne', C.INVALID_TYPE],
  ];

  for (const [name, input, path, code] of cases) {
    it(name, () => {
      assert.deepEqual(pathsAndCodes(issuesOf(input)), [[path, code]]);
    });
  }

  it('does not flag binds that do not collide', () => {
    parseConfig(
      withTransports(
        udp({ host: '127.0.0.1', port: 2000 }),
        udp({ host: '::1', port: 2000 }),
        udp({ host: '127.0.0.1', port: 2001 }),
        udp({ host: '0.0.0.0', port: 2002 }),
        udp({ host: '::1', port: 2002 }),
        // the UDP transport binds :: IPv6-only, so both wildcards may share a port
        udp({ host: '0.0.0.0', port: 2003 }),
        udp({ host: '::', port: 2003 }),
        { type: 'serial', path: '/dev/ttyUSB0' },
        { type: 'serial', path: '/dev/ttyUSB1' },
      ),
    );
  });

  it('suggests the nearest key for a misspelt one', () => {
    const [transportKey] = issuesOf(withTransports(udp({ prot: 1884 })));
    assert.match(transportKey?.message ?? '', /did you mean "port"\?/);
    const [topKey] = issuesOf({ transports: [udp()], gateway: {} });
    assert.match(topKey?.message ?? '', /did you mean "gatewayId"\?/);
    const [caseSlip] = issuesOf({ transports: [udp()], Timers: {} });
    assert.match(caseSlip?.message ?? '', /did you mean "timers"\?/);
  });

  it('lists the known keys when nothing is near', () => {
    const [issue] = issuesOf({ transports: [udp()], qosMinusOne: { zzzzzzzz: true } });
    assert.match(issue?.message ?? '', /known keys: "inlineTopicNames"/);
  });

  it('suggests the nearest allowed value', () => {
    const [issue] = issuesOf(withTransports({ type: 'serial', path: '/dev/x', framing: 'xbee-api3' }));
    assert.match(issue?.message ?? '', /did you mean "xbee-api1"\?/);
    const [type] = issuesOf(withTransports({ type: 'upd' }));
    assert.match(type?.message ?? '', /did you mean "udp"\?/);
  });

  it('names the bad value and the expected range', () => {
    const [issue] = issuesOf(withTransports(udp({ port: 70_000 })));
    assert.match(issue?.message ?? '', /70000/);
    assert.match(issue?.message ?? '', /0 to 65535/);
  });

  it('reports each unknown key of one object separately', () => {
    assert.deepEqual(pathsAndCodes(issuesOf(withTransports(udp({ prot: 1, hots: 'x' })))), [
      ['transports[0].prot', C.UNKNOWN_KEY],
      ['transports[0].hots', C.UNKNOWN_KEY],
    ]);
  });
});

describe('config: mistakes found in the text', () => {
  it('a predefined id written twice', () => {
    const issues = textIssuesOf('{"transports": [{"type": "udp"}],\n "predefinedTopics": {\n  "1": "a",\n  "1": "b"\n }\n}');
    assert.deepEqual(pathsAndCodes(issues), [['predefinedTopics["1"]', C.DUPLICATE_TOPIC_ID]]);
    assert.equal(issues[0]?.line, 4);
  });

  it('any other key written twice', () => {
    const issues = textIssuesOf('{"transports": [{"type": "udp", "port": 1, "port": 2}]}');
    assert.deepEqual(pathsAndCodes(issues), [['transports[0].port', C.DUPLICATE_KEY]]);
  });

  it('invalid JSON, with line and column', () => {
    const issues = textIssuesOf('{\n  "transports": [\n    { "type": "udp" },\n  ]\n}');
    assert.deepEqual(pathsAndCodes(issues), [['', C.INVALID_JSON]]);
    assert.equal(issues[0]?.line, 4);
    assert.equal(issues[0]?.column, 3);
  });

  it('validation issues carry the line and column of their key', () => {
    const issues = textIssuesOf('{\n  "transports": [\n    { "type": "udp",\n      "port": 70000 }\n  ]\n}');
    assert.deepEqual(
      issues.map((i) => [i.path, i.line, i.column]),
      [['transports[0].port', 4, 7]],
    );
  });

  it('a missing key points at the object it is missing from', () => {
    const issues = textIssuesOf('{\n  "transports": [\n    { "type": "serial" }\n  ]\n}');
    assert.deepEqual(
      issues.map((i) => [i.path, i.code, i.line, i.column]),
      [['transports[0].path', C.MISSING, 3, 5]],
    );
  });
});

describe('config: many mistakes at once', () => {
  const input = {
    gatewayId: -1,
    transports: [udp({ prot: 1884 }), udp({ port: 70_000 }), { type: 'serial' }],
    predefinedTopics: { '0': 'a', '1': 'x/#', '2': 'b', '3': 'b' },
    timers: { keepAliveFactor: 'fast' },
    log: { level: 'loud' },
    upstream: { url: 'http://broker', clientId: 'gw', topics: [{ pattern: '#' }] },
  };

  it('reports every one of them', () => {
    const issues = issuesOf(input);
    assert.deepEqual(new Set(pathsAndCodes(issues).map(([p, c]) => `${p} ${c}`)), new Set([
      `gatewayId ${C.OUT_OF_RANGE}`,
      `transports[0].prot ${C.UNKNOWN_KEY}`,
      `transports[1].port ${C.OUT_OF_RANGE}`,
      `transports[2].path ${C.MISSING}`,
      `predefinedTopics["0"] ${C.TOPIC_ID_OUT_OF_RANGE}`,
      `predefinedTopics["1"] ${C.INVALID_TOPIC_NAME}`,
      `predefinedTopics["3"] ${C.DUPLICATE_TOPIC_NAME}`,
      `timers.keepAliveFactor ${C.INVALID_TYPE}`,
      `log.level ${C.INVALID_VALUE}`,
      `upstream.url ${C.INVALID_VALUE}`,
    ]));
    assert.equal(issues.length, 10);
  });

  it('reports a duplicate even when the duplicated entries have other mistakes', () => {
    const issues = issuesOf(withTransports(udp({ port: 3000, forwarder: 1 }), udp({ port: 3000, maxFrameSize: 1 })));
    assert.deepEqual(new Set(pathsAndCodes(issues).map(([p, c]) => `${p} ${c}`)), new Set([
      `transports[0].forwarder ${C.INVALID_TYPE}`,
      `transports[1].maxFrameSize ${C.OUT_OF_RANGE}`,
      `transports[1] ${C.DUPLICATE_ADDRESS}`,
    ]));
  });

  it('throws one ConfigError with a stable code and one line per issue', () => {
    try {
      parseConfig(input, 'site.json');
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(err instanceof MqttSnError);
      assert.equal(err.code, 'MQTTSN_ERR_CONFIG');
      assert.equal(err.source, 'site.json');
      const lines = err.message.split('\n');
      assert.equal(lines.length, err.issues.length + 1);
      for (const [i, issue] of err.issues.entries()) {
        assert.ok(lines[i + 1]?.includes(issue.path), `line ${i + 1} names ${issue.path}`);
        assert.ok(lines[i + 1]?.startsWith('  site.json: '));
      }
    }
  });
});
