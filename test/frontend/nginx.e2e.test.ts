/**
 * The documented alternative: Debian's nginx with its stream module (packages nginx and
 * libnginx-mod-stream) in front of two gateway processes, with the README's configuration,
 * run from a temporary prefix (never the system's nginx). What it does: keeps a device on one
 * instance by hashing its address and port, and carries what the gateway sends it while the
 * proxy session lives. What it breaks, pinned here so the README's warning stays true: the
 * instance sees nginx's address, not the device's, so allow-lists and per-address limits cannot
 * tell devices apart (the encapsulating front end fixes that).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freeTcpPort, freeUdpPort, SnClient, startGateway, type GatewayProcess } from '../integration/gateway-process.js';
import { getJson } from '../observability/helpers.js';
import { until } from '../helpers/wait.js';

const NGINX = '/usr/sbin/nginx';
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** The README's snippet, with this run's ports and paths. */
function nginxConf(dir: string, listenPort: number, instances: readonly number[]): string {
  return `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
load_module ${STREAM_MODULE};
events { worker_connections 1024; }
stream {
  upstream mqttsn_gateways {
    # One device (address and port) stays on one instance; only a dead instance's devices move.
    hash $remote_addr$remote_port consistent;
${instances.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${listenPort} udp;
    proxy_pass mqttsn_gateways;
    # Longer than the longest keep-alive x 1.5 and sleep duration, or what the gateway sends a
    # quiet device (a buffered message, a retry) is dropped with the proxy session.
    proxy_timeout 120s;
  }
}
`;
}

describe('nginx stream module in front of two gateway instances', () => {
  let dir: string;
  let nginx: ChildProcess;
  let port: number;
  const instances: Array<{ gw: GatewayProcess; httpPort: number }> = [];

  before(async () => {
    for (let n = 0; n < 2; n++) {
      const httpPort = await freeTcpPort();
      instances.push({ gw: await startGateway({ http: { port: httpPort } }, { logLevel: 'warn' }), httpPort });
    }
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-nginx-'));
    port = await freeUdpPort();
    await writeFile(join(dir, 'nginx.conf'), nginxConf(dir, port, instances.map((i) => i.gw.udpPort)));
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Ready when a SEARCHGW through it is answered by an instance.
    const probe = await SnClient.open(port);
    try {
      await until(
        async () => {
          if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}: ${stderr}`);
          probe.send({ type: 'SEARCHGW', radius: 0 });
          return probe.next('GWINFO', 200).then(
            () => true,
            () => false,
          );
        },
        30_000,
        'nginx answering',
        0,
      );
    } finally {
      await probe.close();
    }
  });

  after(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      // SIGTERM, a fast stop: a graceful one (SIGQUIT) waits for every UDP proxy session to time out.
      nginx.kill('SIGTERM');
      await once(nginx, 'exit');
    }
    for (const i of instances) await i.gw.stop();
    if (dir !== undefined) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      if (/\[emerg\]|\[alert\]/.test(log)) throw new Error(`nginx error log: ${log}`);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps each device on one instance and carries the gateway's messages back, but shows the instance nginx's address", async () => {
    const devices: SnClient[] = [];
    for (let n = 0; n < 8; n++) {
      const d = await SnClient.open(port);
      await d.connect(`ngx-${n}`);
      // A subscription to what it publishes itself: the message back is one the gateway starts.
      d.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topicIdType: 'short', topicName: `n${n}` });
      await d.next('SUBACK');
      d.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'short', topicName: `n${n}`, payload: Buffer.from('hi') });
      assert.equal((await d.next('PUBLISH')).payload.toString(), 'hi');
      devices.push(d);
    }
    const peers: string[] = [];
    let total = 0;
    for (const i of instances) {
      const r = await getJson(i.httpPort, '/api/sessions?limit=100');
      const sessions = (r.body as { sessions: Array<{ clientId: string; peer: string }> }).sessions.filter((s) => s.clientId.startsWith('ngx-'));
      total += sessions.length;
      peers.push(...sessions.map((s) => s.peer));
    }
    assert.equal(total, 8, 'each device on exactly one instance');
    const devicePorts = new Set(devices.map((d) => `udp:127.0.0.1:${d.socket.address().port}`));
    // nginx sends from ports of its own: the device's address and port never reach the gateway.
    for (const p of peers) assert.ok(!devicePorts.has(p), `${p} is a device's own address`);
    for (const d of devices) await d.close();
  });
});
