/**
 * An MQTT-SN 2.0 client written independently of the project's codec (mqttsn2_client.py: Python
 * standard library, packets built by hand from the CSD01 field layouts) against the gateway CLI on
 * the shipped config, beside a 1.2 client on the same UDP port. Proves both directions across
 * versions: the 2.0 client's QoS 1 PUBLISH on a session alias and QoS 0 PUBLISH with a full topic
 * name reach the 1.2 subscriber, and the 1.2 client's PUBLISH reaches the 2.0 subscriber; plus
 * REGISTER, SUBSCRIBE, PINGREQ, DISCONNECT and Session Expiry (Session Present after a resume,
 * not after DISCONNECT with Session Expiry 0) as a third-party client sees them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { SnClient } from '../integration/gateway-process.js';
import { track } from '../helpers/children.js';
import { until } from '../helpers/wait.js';
import { scaled } from '../helpers/time-scale.js';
import { startShippedProcess, type ShippedProcess } from './shipped-process.js';

const SCRIPT = fileURLToPath(new URL('./mqttsn2_client.py', import.meta.url));

interface Step {
  step: string;
  [k: string]: unknown;
}

describe('a hand-written Python MQTT-SN 2.0 client and a 1.2 client on the shipped gateway', () => {
  let gw: ShippedProcess;
  let py: ChildProcess | undefined;
  let v12: SnClient;

  before(async () => {
    gw = await startShippedProcess();
    v12 = await SnClient.open(gw.udpPort);
  });
  after(async () => {
    if (py !== undefined && py.exitCode === null && py.signalCode === null) py.kill('SIGKILL');
    await v12?.close();
    await gw?.close();
  });

  it('delivers 2.0 -> 1.2 and 1.2 -> 2.0, and keeps then ends the 2.0 session as asked', { timeout: 120_000 }, async () => {
    await v12.connect('v12-peer');
    v12.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'e2e/from2/#' });
    assert.equal((await v12.next('SUBACK')).returnCode, 0);

    const steps: Step[] = [];
    let err = '';
    py = track(spawn('python3', [SCRIPT, '127.0.0.1', String(gw.udpPort), 'py2client'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let buf = '';
    py.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        steps.push(JSON.parse(buf.slice(0, i)) as Step);
        buf = buf.slice(i + 1);
      }
    });
    py.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(py, 'exit') as Promise<[number | null]>;
    const step = (name: string): Step | undefined => steps.find((s) => s.step === name);
    const show = (): string => `${JSON.stringify(steps)}\n${err}`;

    await until(() => step('subscribed') !== undefined || step('failed') !== undefined, scaled(30_000), `the 2.0 client to subscribe: ${show()}`);
    assert.equal(step('failed'), undefined, show());
    assert.equal(step('connected')!.sessionPresent, 0, 'Clean Start: no session present');
    assert.equal(step('subscribed')!.granted, 1, 'QoS 1 granted');
    assert.equal(typeof step('subscribed')!.alias, 'number', 'a non-wildcard filter gets a topic alias (MQTT-SN-4.7.2.2-2)');

    // 2.0 -> 1.2: both publishes reach the 1.2 subscriber (a wildcard subscription: each topic
    // is REGISTERed to it first, MQTT-SN 1.2 §6.10), topic and payload intact.
    const seen = new Map<string, string>();
    const ids = new Map<number, string>();
    const take = (): boolean => {
      for (const q of v12.pending()) {
        if (q.type === 'REGISTER') {
          ids.set(q.topicId, q.topicName);
          v12.send({ type: 'REGACK', topicId: q.topicId, msgId: q.msgId, returnCode: 0 });
        } else if (q.type === 'PUBLISH') {
          assert.equal(q.topicIdType, 'normal', JSON.stringify(q));
          const name = q.topicIdType === 'normal' ? ids.get(q.topicId) : undefined;
          assert.ok(name !== undefined, `a REGISTER came before the PUBLISH: ${JSON.stringify(q)}`);
          seen.set(name, q.payload.toString());
          if (q.qos === 1) v12.send({ type: 'PUBACK', topicId: q.topicId, msgId: q.msgId, returnCode: 0 });
        }
      }
      return seen.size >= 2;
    };
    await until(take, scaled(15_000), `the 1.2 client to get both 2.0 publishes (has ${JSON.stringify([...seen])}): ${show()}`);
    assert.deepEqual(Object.fromEntries(seen), { 'e2e/from2/qos1': 'two-qos1', 'e2e/from2/qos0': 'two-qos0' });

    // 1.2 -> 2.0: a QoS 1 publish on a registered topic reaches the 2.0 subscriber.
    v12.send({ type: 'REGISTER', topicId: 0, msgId: 2, topicName: 'e2e/to2' });
    const regack = await v12.next('REGACK');
    assert.equal(regack.returnCode, 0);
    v12.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: regack.topicId, msgId: 3, payload: Buffer.from('from-one-two') });
    assert.equal((await v12.next('PUBACK')).returnCode, 0);

    const [code] = await exited;
    assert.equal(code, 0, show());
    const got = step('received')!;
    assert.equal(got.payload, 'from-one-two');
    assert.equal(got.qos, 1);
    assert.equal(got.topicType, 0, 'delivered on the session alias the SUBACK gave');
    assert.equal(got.alias, step('subscribed')!.alias);
    assert.ok(step('pinged'), 'PINGRESP echoed the PINGREQ packet id');
    assert.ok(step('pinged-3byte'), 'a PINGREQ in the 3-byte Length form is answered too (MQTT-SN-2.1.2-1)');
    assert.equal(step('resumed')!.sessionPresent, 1, 'Session Expiry 60 s kept the session over DISCONNECT');
    assert.equal(step('after-expiry')!.sessionPresent, 0, 'DISCONNECT with Session Expiry 0 ended the session');
    assert.ok(step('done'));
    assert.deepEqual(v12.badFrames, [], 'the 1.2 client got only 1.2 frames');
  });
});
