/**
 * The bridge over TLS to a mosquitto that requires a client certificate, with a CA, server and
 * client certificates made by openssl for this run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeErrorCode } from '../../src/bridge/errors.js';
import { loadConfig } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { makeTestPki, Mosquitto, type TestPki } from '../helpers/mosquitto.js';
import { recorder, snNode, startBridgedGateway, until, watch, type BridgedGateway, type LogLine } from './harness.js';

describe('bridge over TLS with client certificates', () => {
  let pki: TestPki;
  let mosq: Mosquitto;
  const readUrl = (): string => `mqtts://127.0.0.1:${mosq.port}`;

  before(async () => {
    pki = await makeTestPki();
    mosq = await Mosquitto.start({ tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, requireCertificate: true } });
  });
  after(async () => {
    await mosq.close();
    await pki.close();
  });

  /** An MQTT.js watcher with the client certificate (MQTT.js reads these as file contents). */
  const watcher = async (filter: string): Promise<Awaited<ReturnType<typeof watch>>> =>
    watch(readUrl(), filter, 1, { ca: await readFile(pki.ca), cert: await readFile(pki.clientCert), key: await readFile(pki.clientKey) });

  const failsWith = async (gw: BridgedGateway, code: string, t: { diagnostic(m: string): void }): Promise<string> => {
    await until(() => gw.bridge.status().counters.connectFailures >= 2, 5000, `two failed attempts (${code})`);
    const s = gw.bridge.status();
    assert.equal(s.connected, false);
    assert.equal(s.lastError?.code, code, s.lastError?.message);
    t.diagnostic(`${s.lastError?.code}: ${s.lastError?.message}`);
    return s.lastError?.message ?? '';
  };

  it('connects with the CA and a client certificate from a config file, paths relative to it, and carries messages', async () => {
    // The config file and its certificates in their own folder, named relatively, as an installer would lay them out.
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-tls-config-'));
    const logs: LogLine[] = [];
    let close: (() => Promise<void>) | undefined;
    try {
      await copyFile(pki.ca, join(dir, 'ca.pem'));
      await copyFile(pki.clientCert, join(dir, 'gw.pem'));
      await copyFile(pki.clientKey, join(dir, 'gw.key'));
      const file = join(dir, 'gateway.config.json');
      await writeFile(
        file,
        JSON.stringify({
          transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
          broker: { listen: [] },
          timers: { advertiseIntervalSec: 0 },
          upstream: {
            url: readUrl(),
            clientId: 'gw-tls',
            tls: { ca: 'ca.pem', cert: 'gw.pem', key: './gw.key' },
            topics: [{ pattern: 'tls/#', direction: 'both', qos: 1 }],
            reconnect: { initialMs: 100, maxMs: 500 },
          },
        }),
      );
      const running = await createGateway(await loadConfig(file), { logger: recorder(logs) });
      close = () => running.close();
      const bridge = running.bridge!;
      await until(() => bridge.connected, 5000, 'TLS connection');
      const w = await watcher('tls/up/#');
      try {
        const udp = running.transports[0];
        assert.ok(udp instanceof UdpTransport);
        const n = await snNode(udp.address().port, 'tls-node');
        const got: string[] = [];
        n.on('message', (m) => got.push(m.payload.toString()));
        await n.subscribe('tls/down/#', 1);
        await n.publish({ topic: 'tls/up/t', payload: 'over-tls', qos: 1 });
        await until(() => w.got.length === 1, 5000, 'up over TLS');
        assert.equal(w.got[0]?.payload, 'over-tls');
        await w.client.publishAsync('tls/down/cmd', 'back-over-tls', { qos: 1 });
        await until(() => got.length === 1, 5000, 'down over TLS');
        assert.equal(got[0], 'back-over-tls');
        await n.close();
      } finally {
        await w.close();
      }
    } finally {
      await close?.();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('decrypts an encrypted key with the passphrase from the environment', async () => {
    const gw = await startBridgedGateway(
      {
        url: readUrl(),
        tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKeyEncrypted, passphraseEnv: 'KEY_PASSPHRASE' },
        topics: [{ pattern: 'tls/#', direction: 'out', qos: 1 }],
      },
      { KEY_PASSPHRASE: pki.clientKeyPassphrase },
    );
    try {
      await until(() => gw.bridge.connected, 5000, 'TLS connection with an encrypted key');
    } finally {
      await gw.close();
    }
  });

  it('is refused without a client certificate, reports it and keeps trying', async (t) => {
    const gw = await startBridgedGateway({ url: readUrl(), tls: { ca: pki.ca }, topics: [{ pattern: 'tls/#' }], reconnect: { initialMs: 50, maxMs: 100 } });
    try {
      const code = gw.bridge.status().lastError?.code;
      assert.ok(code === undefined || code === BridgeErrorCode.TLS);
      await failsWith(gw, BridgeErrorCode.TLS, t);
      assert.ok(gw.logs.some((l) => l.msg === 'upstream connection failed' && l.obj.code === BridgeErrorCode.TLS));
    } finally {
      await gw.close();
    }
  });

  it('refuses a broker whose certificate it cannot verify', async (t) => {
    const gw = await startBridgedGateway({
      url: readUrl(),
      tls: { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey },
      topics: [{ pattern: 'tls/#' }],
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    try {
      assert.match(await failsWith(gw, BridgeErrorCode.TLS, t), /certificate/i);
    } finally {
      await gw.close();
    }
  });

  it('checks the host name: servername must match the certificate', async (t) => {
    const gw = await startBridgedGateway({
      url: readUrl(),
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'broker.example' },
      topics: [{ pattern: 'tls/#' }],
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    try {
      assert.match(await failsWith(gw, BridgeErrorCode.TLS, t), /broker\.example|altname|host/i);
    } finally {
      await gw.close();
    }
  });
});
