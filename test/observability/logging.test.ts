/**
 * What the log says at the default level, through the real CLI: one line per session event
 * (connect, sleep, disconnect, lost, will published), each naming the client, and nothing per
 * message; on a terminal, readable lines instead of JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { GatewayChild, root, tempDir, writeConfig } from '../cli/cli-process.js';

describe('observability: session events in the log', () => {
  let gw: GatewayChild;
  let cleanup: () => Promise<void>;
  let udpPort: number;
  let runningAt: number;
  const clients: SnClient[] = [];

  before(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    udpPort = await freeUdpPort();
    const file = await writeConfig(t.dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      timers: { advertiseIntervalSec: 0 },
    });
    gw = await GatewayChild.start(file);
    runningAt = gw.lines.length;
  });
  after(async () => {
    for (const c of clients) await c.close();
    gw.signal('SIGTERM');
    assert.equal(await gw.exitCode(), 0);
    await cleanup();
  });

  const sn = async (): Promise<SnClient> => {
    const c = await SnClient.open(udpPort);
    clients.push(c);
    return c;
  };

  it('one info line per event, naming the client; none for 100 messages', async () => {
    const chatty = await sn();
    await chatty.connect('log-chatty');
    chatty.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'log/t' });
    const { topicId } = await chatty.next('REGACK');
    for (let i = 0; i < 100; i++) chatty.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: Buffer.from(String(i)), topicIdType: 'normal', topicId });
    for (let i = 0; i < 5; i++) {
      chatty.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 10 + i, payload: Buffer.from('q1'), topicIdType: 'normal', topicId });
      await chatty.next('PUBACK');
    }

    const sleeper = await sn();
    await sleeper.connect('log-sleeper');
    sleeper.send({ type: 'DISCONNECT', duration: 30 });
    await sleeper.next('DISCONNECT');

    const leaver = await sn();
    await leaver.connect('log-leaver');
    leaver.send({ type: 'DISCONNECT' });
    await leaver.next('DISCONNECT');

    const silent = await sn();
    silent.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 1, clientId: 'log-silent' });
    await silent.next('WILLTOPICREQ');
    silent.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'log/will' });
    await silent.next('WILLMSGREQ');
    silent.send({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    await silent.next('CONNACK');
    await gw.waitFor((l) => l.includes('"will published"'), 5000);

    const events = gw
      .records()
      .slice(runningAt)
      .filter((r) => typeof r.level === 'number' && r.level >= 30)
      .map((r) => `${String(r.msg)} ${String(r.clientId)}`);
    assert.deepEqual(events, [
      'client connected log-chatty',
      'client connected log-sleeper',
      'client asleep log-sleeper',
      'client connected log-leaver',
      'client disconnected log-leaver',
      'client connected log-silent',
      'client lost log-silent',
      'will published log-silent',
    ]);
  });
});

describe('observability: logs on a terminal', () => {
  const hasScript = spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;

  // util-linux's `script` gives the CLI a terminal; Debian always has it (bsdutils is essential).
  it('are readable lines, not JSON', async () => {
    assert.ok(hasScript, 'no `script` to give the CLI a terminal: apt-get install -y bsdutils');
    const { dir, cleanup } = await tempDir();
    // A port in use ends the run right after the first log line, so nothing is left to stop.
    const busy = createSocket('udp4');
    busy.bind(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const file = await writeConfig(dir, 'tty.json', {
        transports: [
          { type: 'serial', path: join(dir, 'ttyUSB-none') },
          { type: 'udp', host: '127.0.0.1', port: busy.address().port },
        ],
        broker: { listen: [] },
      });
      const command = `${process.execPath} --import tsx src/cli.ts --config ${file}`;
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await once(child, 'exit');
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex -- the terminal gets colours; compare without them
      const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
      assert.match(plain, /\[\d\d:\d\d:\d\d\.\d{3}\] WARN: serial device .*ttyUSB-none not found/);
      assert.equal(plain.includes('{"level"'), false, plain);
    } finally {
      busy.close();
      await cleanup();
    }
  });
});
