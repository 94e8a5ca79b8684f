/** The edit distance behind "did you mean". */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ConfigIssueCode as C, parseConfig, type ConfigIssue } from '../../src/config/index.js';
import { editDistance, nearest, ranked } from '../../src/config/suggest.js';

describe('config: suggestions', () => {
  it('counts inserts, deletes, substitutions and swaps as one edit each', () => {
    const cases: Array<[string, string, number]> = [
      ['', '', 0],
      ['port', 'port', 0],
      ['', 'abc', 3],
      ['abc', '', 3],
      ['prot', 'port', 1],
      ['prt', 'port', 1],
      ['poort', 'port', 1],
      ['pert', 'port', 1],
      ['kitten', 'sitting', 3],
      ['gateway', 'gatewayId', 2],
    ];
    for (const [a, b, d] of cases) {
      assert.equal(editDistance(a, b), d, `${a} -> ${b}`);
      assert.equal(editDistance(b, a), d, `${b} -> ${a}`);
    }
  });

  it('picks the nearest plausible candidate, or none', () => {
    const keys = ['type', 'host', 'port', 'forwarder', 'advertise', 'maxFrameSize'];
    assert.equal(nearest('prot', keys), 'port');
    assert.equal(nearest('Host', keys), 'host');
    assert.equal(nearest('maxframesize', keys), 'maxFrameSize');
    assert.equal(nearest('advertize', keys), 'advertise');
    assert.equal(nearest('baudRate', keys), undefined);
    assert.equal(nearest('x', keys), undefined);
  });
});

/** What a hint offers, and whether taking it leaves the config without a problem at that place. */
describe('config: hints lead to a config that is accepted', () => {
  const transports = [{ type: 'udp', host: '127.0.0.1', port: 0 }];
  const azure = { profile: 'azure-iot-hub', url: 'mqtts://hub.azure-devices.net', clientId: 'dev1', azure: { deviceKeyEnv: 'AZURE_KEY' } };
  const aws = { profile: 'aws-iot', url: 'mqtts://abc-ats.iot.eu-west-1.amazonaws.com', clientId: 'thing1' };
  const adafruit = { profile: 'adafruit-io', url: 'mqtts://io.adafruit.com', username: 'me', passwordEnv: 'AIO_KEY' };

  function issuesOf(upstream: Record<string, unknown>): ConfigIssue[] {
    try {
      parseConfig({ transports, upstream });
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return [...err.issues];
    }
    return [];
  }

  const only = (issues: ConfigIssue[], path: string): ConfigIssue => {
    const at = issues.filter((i) => i.path === path);
    assert.equal(at.length, 1, JSON.stringify(issues, null, 1));
    return at[0]!;
  };

  it('suggests the *Env field for a secret written inline: deviceKey -> deviceKeyEnv, not deviceId', () => {
    assert.equal(nearest('deviceKey', ['deviceId', 'hubHost', 'deviceKeyEnv', 'sasLifetimeSec']), 'deviceKeyEnv');
    assert.equal(nearest('passphrase', ['ca', 'cert', 'key', 'passphraseEnv', 'servername']), 'passphraseEnv');
    const m = only(issuesOf({ ...azure, azure: { deviceKey: 'c2VjcmV0a2V5' } }), 'upstream.azure.deviceKey').message;
    assert.match(m, /did you mean "deviceKeyEnv"\? It names the environment variable/);
    assert.doesNotMatch(m, /deviceId/);
  });

  it('prefers a key that extends the word over an equally near one that replaces part of it', () => {
    assert.deepEqual(ranked('port', ['post', 'ports']), ['ports', 'post']);
  });

  it('offers no value the profile then rejects', () => {
    // Azure IoT Hub takes outbound rules only: "both" is refused, so it is neither suggested nor listed.
    const direction = only(issuesOf({ ...azure, topics: [{ pattern: '#', direction: 'bth' }] }), 'upstream.topics[0].direction').message;
    assert.doesNotMatch(direction, /both/);
    assert.match(direction, /expected "out"/);
    // Without the profile the same slip gets the same value suggested.
    assert.match(only(issuesOf({ url: 'mqtt://127.0.0.1:1883', topics: [{ pattern: '#', direction: 'bth' }] }), 'upstream.topics[0].direction').message, /did you mean "both"/);
    const mode = only(issuesOf({ ...azure, mode: 'transparnt' }), 'upstream.mode').message;
    assert.doesNotMatch(mode, /transparent/);
  });

  it('offers no key the profile then rejects', () => {
    const m = only(issuesOf({ ...azure, pasword: 'x' }), 'upstream.pasword').message;
    assert.doesNotMatch(m, /did you mean/);
    assert.match(issuesOf({ url: 'mqtt://127.0.0.1:1883', username: 'u', pasword: 'x' })[0]!.message, /did you mean "password"/);
  });

  it('names in its advice only fields and values the profile takes', () => {
    for (const [profile, section] of [
      ['azure-iot-hub', azure],
      ['aws-iot', aws],
    ] as const) {
      const url = only(issuesOf({ ...section, url: section.url.replace('mqtts://', 'mqtts://u:p@') }), 'upstream.url').message;
      assert.doesNotMatch(url, /passwordEnv|"username"/, profile);
      const scheme = only(issuesOf({ ...section, url: section.url.replace('mqtts://', 'http://') }), 'upstream.url').message;
      assert.doesNotMatch(scheme, /mqtt:\/\/ /, profile);
    }
    for (const section of [azure, adafruit]) {
      const prefix = only(issuesOf({ ...section, clientIdPrefix: 'x-' }), 'upstream.clientIdPrefix').message;
      assert.doesNotMatch(prefix, /transparent"/);
    }
    const empty = only(issuesOf({ ...azure, topics: [] }), 'upstream.topics').message;
    assert.doesNotMatch(empty, /both/);
  });

  it('leads, when taken, to a config without a problem at that place', () => {
    const slips: Array<Record<string, unknown>> = [
      { ...azure, azure: { deviceKey: 'AZURE_KEY' } },
      { ...azure, topics: [{ pattern: '#', direction: 'ot' }] },
      { ...adafruit, adafruit: { feedTemplte: '{user}/feeds/{topic}' } },
      { ...adafruit, topics: [{ pattern: '#', direction: 'bth' }] },
      { url: 'mqtt://127.0.0.1:1883', mode: 'transparnt' },
      { url: 'mqtt://127.0.0.1:1883', topics: [{ pattern: '#', direction: 'bth' }] },
      { url: 'mqtt://127.0.0.1:1883', username: 'u', pasword: 'p' },
      { url: 'mqtt://127.0.0.1:1883', tls: { rejectUnauthorised: false } },
    ];
    for (const upstream of slips) {
      const issues = issuesOf(upstream);
      const hinted = issues.flatMap((i) => {
        const m = /did you mean "([^"]+)"/.exec(i.message);
        return m === null ? [] : [{ issue: i, to: m[1]! }];
      });
      assert.equal(hinted.length, 1, `one hint for ${JSON.stringify(upstream)}: ${JSON.stringify(issues)}`);
      const { issue, to } = hinted[0]!;
      const fixed = structuredClone(upstream);
      const segments = issue.path.replace(/\[(\d+)\]/g, '.$1').split('.').slice(1);
      const last = segments.pop()!;
      let parent: Record<string, unknown> = fixed;
      for (const s of segments) parent = parent[s] as Record<string, unknown>;
      let at = issue.path;
      if (issue.code === C.UNKNOWN_KEY) {
        parent[to] = parent[last];
        delete parent[last];
        at = issue.path.replace(/[^.]+$/, to);
      } else {
        parent[last] = to;
      }
      const after = issuesOf(fixed).filter((i) => i.path === at);
      assert.deepEqual(after, [], `taking "${to}" at ${issue.path} in ${JSON.stringify(upstream)}`);
    }
  });
});
