/**
 * A real mosquitto (Debian's package) for tests: its own temp folder and config, a free loopback
 * port, started, killed and restarted by PID. A test that needs it and cannot find it fails with
 * the install command; it never skips.
 *
 * Also a throwaway PKI made with openssl at test time: a CA, a server certificate for 127.0.0.1
 * and localhost, and a client certificate.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { track } from './children.js';
import { freeTcpPort } from './ports.js';
import { until } from './wait.js';

const run = promisify(execFile);

const INSTALL_HINT = 'install it with: apt-get install -y mosquitto (Debian/Ubuntu; the package has mosquitto and mosquitto_passwd)';

/** The first executable `name` in `extra`, then in PATH; throws with the install command when there is none. */
export function findExecutable(name: string, extra: readonly string[], path = process.env.PATH ?? ''): string {
  const dirs = [...extra, ...path.split(delimiter)].filter((d) => d !== '');
  for (const dir of dirs) {
    const full = join(dir, name);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is needed by this test but was not found in /usr/sbin or PATH; ${INSTALL_HINT}`);
}

/** The mosquitto binary; throws with the install command when there is none. */
export function mosquittoBinary(): string {
  return findExecutable('mosquitto', ['/usr/sbin', '/usr/local/sbin']);
}

export interface MosquittoTls {
  /** PEM file paths */
  ca: string;
  cert: string;
  key: string;
  /** ask for a client certificate and refuse a client without one signed by `ca` */
  requireCertificate?: boolean;
}

export interface MosquittoOptions {
  /** user name -> password; without it anonymous clients are allowed */
  users?: Record<string, string>;
  tls?: MosquittoTls;
  /** more mosquitto.conf lines, e.g. `max_inflight_messages 0` */
  extraConfig?: readonly string[];
}

export class Mosquitto {
  readonly port: number;
  readonly dir: string;
  readonly #binary: string;
  readonly #options: MosquittoOptions;
  #proc: ChildProcess | undefined;
  #log = '';
  /** a user written into each new password file, so a test can tell when that file is in force */
  #probe = { user: '', password: '' };

  private constructor(binary: string, dir: string, port: number, options: MosquittoOptions) {
    this.#binary = binary;
    this.dir = dir;
    this.port = port;
    this.#options = options;
  }

  /** Starts a mosquitto on a free 127.0.0.1 port; resolves once it accepts connections. */
  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const binary = mosquittoBinary();
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-mosquitto-'));
    const m = new Mosquitto(binary, dir, await freeTcpPort(), options);
    try {
      await m.#writeConfig(options.users);
      await m.restart();
    } catch (err) {
      await m.close();
      throw err;
    }
    return m;
  }

  get url(): string {
    return `${this.#options.tls === undefined ? 'mqtt' : 'mqtts'}://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    const p = this.#proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  /** What mosquitto logged so far (for failure messages). */
  get log(): string {
    return this.#log;
  }

  /**
   * (Re)starts the process on the same port and config; resolves once it accepts connections.
   * `users` replaces the password file first.
   */
  async restart(users?: Record<string, string>): Promise<void> {
    if (this.pid !== undefined) throw new Error(`mosquitto ${this.pid} is still running`);
    if (users !== undefined) await this.#writePasswords(users);
    // Tracked: none outlives the test file, even when a test fails before closing it.
    const proc = track(spawn(this.#binary, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.#proc = proc;
    const append = (d: Buffer): void => {
      this.#log = (this.#log + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`mosquitto exited (${proc.exitCode ?? proc.signalCode}) before it listened on ${this.port}:\n${this.#log}`);
      }
      if (await accepts(this.port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`mosquitto did not listen on ${this.port} within 10 s:\n${this.#log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` (SIGKILL by default) to the process and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  }

  /** Replaces the password file and makes mosquitto reload it (SIGHUP). */
  async setUsers(users: Record<string, string>): Promise<void> {
    await this.#writePasswords(users);
    const proc = this.#proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) throw new Error('mosquitto is not running');
    if (this.#options.tls !== undefined) throw new Error('setUsers probes the plain listener; this mosquitto has TLS');
    proc.kill('SIGHUP');
    // mosquitto logs "Reloading config" before it reads the file: the caller may go on once the
    // probe user of the new file gets in.
    const probe = this.#probe;
    await until(
      () =>
        mqtt.connectAsync(this.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 2000, username: probe.user, password: probe.password }).then(
          (c) => c.endAsync(true).then(() => true),
          () => false,
        ),
      5000,
      `mosquitto reloading its password file:\n${this.#log}`,
    );
  }

  /** Stops the process (SIGTERM, then SIGKILL) and removes the folder. Safe to call twice. */
  async close(): Promise<void> {
    const proc = this.#proc;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  async #writeConfig(users: Record<string, string> | undefined): Promise<void> {
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      'persistence false',
      // Run as root, mosquitto would switch to the "mosquitto" user, which cannot read our temp folder.
      `user ${userInfo().username}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      // The kill-and-restart test queues thousands of messages for a subscriber.
      'max_queued_messages 100000',
    ];
    if (users === undefined) {
      lines.push('allow_anonymous true');
    } else {
      lines.push('allow_anonymous false', `password_file ${join(this.dir, 'passwords')}`);
      await this.#writePasswords(users);
    }
    const tls = this.#options.tls;
    if (tls !== undefined) {
      lines.push(`cafile ${tls.ca}`, `certfile ${tls.cert}`, `keyfile ${tls.key}`, `require_certificate ${tls.requireCertificate === true}`);
    }
    lines.push(...(this.#options.extraConfig ?? []));
    await writeFile(join(this.dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  }

  async #writePasswords(users: Record<string, string>): Promise<void> {
    const file = join(this.dir, 'passwords');
    await writeFile(file, '');
    const passwd = findExecutable('mosquitto_passwd', ['/usr/bin', '/usr/local/bin']);
    this.#probe = { user: `probe-${Math.random().toString(36).slice(2, 10)}`, password: Math.random().toString(36).slice(2) };
    const all = { ...users, [this.#probe.user]: this.#probe.password };
    for (const [user, password] of Object.entries(all)) await run(passwd, ['-b', file, user, password]);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** the client key encrypted with `clientKeyPassphrase` */
  clientKeyEncrypted: string;
  clientKeyPassphrase: string;
  /** a CA that signed nothing here: trusting only it, a client must refuse the server */
  otherCa: string;
  /** Removes the folder. */
  close(): Promise<void>;
}

/** A CA, a server certificate for 127.0.0.1 / ::1 / localhost, and a client certificate, made with openssl. */
export async function makeTestPki(): Promise<TestPki> {
  const openssl = findExecutable('openssl', ['/usr/bin']);
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-pki-'));
  const f = (name: string): string => join(dir, name);
  const ossl = (...args: string[]): Promise<unknown> => run(openssl, args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await ossl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=mqttsn test CA');
    await ossl('req', '-x509', ...ec, '-keyout', f('other-ca.key'), '-out', f('other-ca.pem'), '-days', '2', '-subj', '/CN=unrelated CA');
    const sign = async (name: string, cn: string, ext: string): Promise<void> => {
      await ossl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
      await writeFile(f(`${name}.ext`), ext);
      await ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
    };
    await sign('server', 'localhost', 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await sign('client', 'mqttsn-gateway-test', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    const passphrase = 'test-passphrase';
    await ossl('pkey', '-in', f('client.key'), '-aes256', '-passout', `pass:${passphrase}`, '-out', f('client-enc.key'));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    clientKeyEncrypted: f('client-enc.key'),
    clientKeyPassphrase: 'test-passphrase',
    otherCa: f('other-ca.pem'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
