/**
 * `--protocol` as a user runs it: one run of every profile with 1.2 and 2.0 nodes side by side
 * against a responder that reads each peer in its own version (the gateway core does not speak
 * 2.0 yet), the report's per-version counts, what each version's nodes put on the wire, and the
 * options' refusals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, main, parseCli } from '../../firmware-sim/cli.js';
import { nodeProtocol } from '../../firmware-sim/fleet.js';
import { runLoad } from '../../firmware-sim/load.js';
import { PROFILE_NAMES } from '../../firmware-sim/profiles.js';
import type { SimReport } from '../../firmware-sim/stats.js';
import { DualResponder } from './dual-responder.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, stdout, stderr };
}

describe('firmware-sim --protocol', () => {
  let gw: DualResponder;
  before(async () => {
    gw = await DualResponder.start();
  });
  after(() => gw.close());

  it('runs every profile in 1.2 and in 2.0 side by side and counts the nodes of each version', async () => {
    const profiles = PROFILE_NAMES.join(',');
    const { code, stdout, stderr } = await cli([
      '--gateway', gw.url, '--nodes', String(PROFILE_NAMES.length * 2), '--profile', profiles, '--protocol', '1.2,2',
      '--username', 'sim', '--password', 'pw', '--will', '--persistent-session', '--sleep', '1', '--rate', '8', '--qos', '2',
      '--duration', '2', '--ramp', '0.1', '--retry-ms', '500', '--drain', '2', '--no-observe', '--json', '--quiet',
    ]);
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as SimReport;
    // Beacons and misbehaving nodes never connect, in either version.
    assert.deepEqual(r.protocols, { '1.2': { nodes: PROFILE_NAMES.length, connected: PROFILE_NAMES.length - 2 }, '2': { nodes: PROFILE_NAMES.length, connected: PROFILE_NAMES.length - 2 } });
    assert.equal(r.lost, 0, JSON.stringify(r, null, 1));
    assert.equal(r.acknowledged, r.publish['1'].sent + r.publish['2'].sent);
    assert.ok(r.publish['2'].sent > 0 && r.publish['1'].sent > 0 && r.publish['-1'].sent > 0);
    assert.ok((r.latency.sleep?.count ?? 0) >= 2 && (r.latency.wake?.count ?? 0) >= 2, 'sleep cycles in both versions');

    // Connected 1.2 and 2.0 nodes are distinct peers, each read in its own version only.
    const peers12 = gw.peers('1.2');
    const peers2 = gw.peers('2.0');
    assert.ok(peers2.size >= PROFILE_NAMES.length - 2 && peers12.size >= PROFILE_NAMES.length - 2);
    assert.ok([...peers2].every((p) => !peers12.has(p)), 'a peer spoke both versions');
    // 2.0: will, session expiry and MQTT-BASIC inside CONNECT; sleep by SLEEPREQ; QoS -1 as PUBWOS.
    const connects2 = gw.of2('CONNECT');
    assert.ok(connects2.length >= PROFILE_NAMES.length - 2);
    for (const c of connects2) {
      assert.equal(c.auth?.method, 'MQTT-BASIC');
      assert.equal(c.auth?.data.toString('hex'), '0003' + Buffer.from('sim').toString('hex') + '0002' + Buffer.from('pw').toString('hex'));
      assert.equal(c.will?.topicType === 'name' && c.will.topicName, `sim/${c.clientId}/status`);
      assert.equal(c.cleanStart, false);
      assert.equal(c.sessionExpiryInterval, 0xffffffff);
    }
    assert.ok(gw.of2('SLEEPREQ').length >= 1 && gw.of2('PUBWOS').length >= 1 && gw.of2('SUBSCRIBE').length >= 2);
    // 1.2: the will dance and sleep by DISCONNECT with a duration, as before; no credentials to carry.
    assert.ok(gw.of12('WILLTOPIC').length >= PROFILE_NAMES.length - 2);
    assert.ok(gw.of12('DISCONNECT').some((d) => d.duration === 1));
    assert.ok(gw.of12('PUBLISH').some((p) => p.qos === -1));
  });

  it('runLoad drives 2.0 nodes, each its own peer, and refuses short names for them', async () => {
    const before12 = gw.peers('1.2').size;
    const r = await runLoad({ gateway: gw.url, nodes: 20, protocol: '2', rate: 500, durationMs: 60_000, maxMessages: 100, qos: 1, connectRate: 2000, clientPrefix: 'load2-' });
    assert.deepEqual(r.nodes, { requested: 20, connected: 20, failed: 0 });
    assert.equal(r.sent, 100);
    assert.equal(r.acknowledged, r.sent);
    const connects = gw.of2('CONNECT').filter((c) => c.clientId.startsWith('load2-'));
    assert.equal(new Set(connects.map((c) => c.clientId)).size, 20);
    assert.equal(gw.peers('1.2').size, before12, 'no 1.2 packet from a 2.0 load node');
    await assert.rejects(runLoad({ gateway: gw.url, nodes: 1, protocol: '2', rate: 1, durationMs: 10, qos: 0, topic: 'short' }), { code: 'SIM_ERR_BAD_ARGUMENT' });
  });

  it('assigns versions round-robin over rounds of the profiles, so every profile runs in every version', () => {
    const cfg = parseCli(['--gateway', 'udp://127.0.0.1:1884', '--protocol', '1.2, 2', '--profile', 'temperature,door']);
    assert.ok(cfg);
    assert.deepEqual(cfg.fleet.protocols, ['1.2', '2']);
    const run = (n: number, o: Parameters<typeof nodeProtocol>[1]): string[] => Array.from({ length: n }, (_, i) => `${o.profiles[i % o.profiles.length]}/${nodeProtocol(i, o)}`);
    assert.deepEqual(run(6, cfg.fleet), ['temperature/1.2', 'door/1.2', 'temperature/2', 'door/2', 'temperature/1.2', 'door/1.2']);
    assert.deepEqual(run(3, { profiles: ['sleepy'], protocols: ['1.2', '2', '2'] }), ['sleepy/1.2', 'sleepy/2', 'sleepy/2']);
    assert.deepEqual(parseCli(['--gateway', 'udp://127.0.0.1:1884'])?.fleet.protocols, ['1.2']);
    assert.deepEqual(parseCli(['--gateway', 'udp://127.0.0.1:1884', '--protocol', '2.0', '--session-expiry', '600'])?.fleet.sessionExpiry, 600);
  });

  it('prints how many nodes spoke each version', () => {
    const report = { protocols: { '1.2': { nodes: 3, connected: 3 }, '2': { nodes: 2, connected: 1 } } } as Partial<SimReport>;
    const base = JSON.parse(JSON.stringify({ elapsedMs: 1, nodes: { total: 5, connected: 4, failed: 1 }, sent: 0, acknowledged: 0, received: 0, lost: 0, lossMeasured: 'acknowledgements', duplicates: 0, retransmissions: 0, errors: {}, unexpected: 0, counters: {}, latency: {} })) as SimReport;
    const zero = { sent: 0, acknowledged: 0, lost: 0, refused: 0 };
    const text = formatReport({ ...base, ...report, publish: { '-1': zero, '0': zero, '1': zero, '2': zero } }, 'temperature');
    assert.match(text, /protocols {6}1\.2: 3 node\(s\) \(3 connected\) {3}2\.0: 2 node\(s\) \(1 connected\)/);
  });

  it('refuses a bad --protocol and the 2.0 options without 2.0 nodes, naming the flag and the fix', async () => {
    for (const [args, msg] of [
      [['--protocol', '3'], /--protocol "3": expected 1\.2 or 2, or a comma-separated list of them assigned round-robin \(e\.g\. 1\.2,2\)/],
      [['--protocol', '1.2,'], /--protocol "1\.2,": expected 1\.2 or 2/],
      [['--username', 'u'], /--username applies to MQTT-SN 2\.0 nodes: add --protocol 2/],
      [['--protocol', '1.2', '--password', 'p'], /--password applies to MQTT-SN 2\.0 nodes/],
      [['--protocol', '2', '--password', 'p'], /--password needs --username/],
      [['--session-expiry', '60'], /--session-expiry applies to MQTT-SN 2\.0 nodes/],
      [['--protocol', '2', '--session-expiry', '-1'], /--session-expiry "-1": expected seconds 0\.\.4294967295/],
      [['--protocol', '1.2,2', '--keep-alive', '0'], /--keep-alive 0: MQTT-SN 2\.0 cannot turn keep-alive off/],
    ] as const) {
      const { code, stderr } = await cli(['--gateway', 'udp://127.0.0.1:1884', ...args]);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, msg);
    }
  });
});
