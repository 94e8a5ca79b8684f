#!/usr/bin/env node
/**
 * `mqttsn-gateway`: the only module that reads argv and env, handles signals and decides the exit
 * code (0 clean stop, 1 runtime failure, 2 bad config or arguments).
 *
 * Signals: SIGINT / SIGTERM stop gracefully (new work refused, handshakes under way finished
 * within `shutdown.graceMs`, then everything closed; a second one cuts the wait short). SIGHUP
 * reads the config again and applies the log level, predefined topics and `auth` (sessions stay,
 * but for what the new `auth` no longer allows); it also reads the local MQTT listener's password
 * file again.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hashPassword, usernameProblem } from './broker/passwords.js';
// Nothing here loads zod or the config schema: a running gateway validates its config in a child
// process (config/load-apart.ts) and keeps their memory out (issue #19). --check-config and
// --print-systemd-unit, which exit at once, load the config API in this process.
import { ConfigError } from './config/errors.js';
import { loadConfigApart } from './config/load-apart.js';
import { LOG_LEVELS, type LogLevel } from './config/log-levels.js';
import type { GatewayConfig } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { drain } from './gateway/drain.js';
import { createGateway, type RunningGateway } from './create-gateway.js';
import { createProcessLogger, type ProcessLogger } from './observability/logger.js';
import { applyReload, planReload } from './cli/reload.js';
import { formatSerialPorts, listSerialPorts } from './cli/serial-ports.js';
import { checkSerialDevice, describeStartupError, groupName } from './cli/startup.js';
import { systemdUnit } from './cli/systemd.js';
import type { FrontEndConfig } from './config/front-end.js';
import { unitEnvironment, unitNodeOptions } from './cli/node-flags.js';

const HELP = `Usage: mqttsn-gateway [options]
       mqttsn-gateway front-end --config FILE [--log-level LEVEL]

An MQTT-SN v1.2 gateway with a local MQTT broker core. "front-end" runs the UDP front end
that spreads devices over several gateway instances instead (see the README).

Options:
  -c, --config FILE          configuration file (default: ./gateway.config.json)
      --check-config         validate the configuration, print it with every default filled
                             in and secrets masked, and exit
      --list-serial-ports    list serial ports with USB vendor/product ids and their stable
                             /dev/serial/by-id/... paths, and exit
      --print-systemd-unit   print a systemd service unit for this install, and exit
      --hash-password USER   read a password from stdin and print the line for USER to add to
                             the local MQTT listener's password file (broker.auth), and exit
      --log-level LEVEL      trace, debug, info, warn, error, fatal or silent (overrides log.level)
  -h, --help                 show this help
  -v, --version              show the version

Signals: SIGINT/SIGTERM stop gracefully (shutdown.graceMs); SIGHUP reloads the log level,
predefined topics and auth from the configuration file, and the listener's password file.

Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or arguments.
`;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** The package folder: the CLI runs from `src/` (tsx) or `dist/src/`, so look upwards. */
function packageRoot(): { root: string; version: string } | undefined {
  for (const rel of ['../package.json', '../../package.json']) {
    const url = new URL(rel, import.meta.url);
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mqttsn-gateway' && pkg.version !== undefined) return { root: dirname(fileURLToPath(url)), version: pkg.version };
    } catch {
      // not at this level
    }
  }
  return undefined;
}

function usageError(message: string): number {
  process.stderr.write(`mqttsn-gateway: ${message}\nTry "mqttsn-gateway --help".\n`);
  return EXIT_USAGE;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'front-end') return frontEndMain(argv.slice(1));
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', default: 'gateway.config.json' },
        'check-config': { type: 'boolean' },
        'list-serial-ports': { type: 'boolean' },
        'print-systemd-unit': { type: 'boolean' },
        'hash-password': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err));
  }
  if (args.help === true) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (args.version === true) {
    process.stdout.write(`${packageRoot()?.version ?? 'unknown'}\n`);
    return EXIT_OK;
  }
  const actions = (['check-config', 'list-serial-ports', 'print-systemd-unit', 'hash-password'] as const).filter((a) => args[a] !== undefined && args[a] !== false);
  if (actions.length > 1) return usageError(`choose one of ${actions.map((a) => `--${a}`).join(', ')}`);
  const level = args['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return usageError(`--log-level "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const configPath = resolve(args.config);

  if (args['list-serial-ports'] === true) {
    process.stdout.write(formatSerialPorts(await listSerialPorts()));
    return EXIT_OK;
  }
  if (args['print-systemd-unit'] === true) return printSystemdUnit(configPath);
  if (args['hash-password'] !== undefined) return printPasswordLine(args['hash-password']);

  let config: GatewayConfig;
  try {
    // The environment now, so that a secret's variable that is not set is a config mistake here.
    config = args['check-config'] === true ? await (await import('./config/load.js')).loadConfig(configPath, process.env) : await loadConfigApart(configPath, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (args['check-config'] === true) return checkConfig(config, configPath);
  return run(config, configPath, level as LogLevel | undefined);
}

/** `--hash-password USER`: the password comes on stdin (so it is not in argv or the shell history). */
async function printPasswordLine(user: string): Promise<number> {
  const problem = usernameProblem(user);
  if (problem !== undefined) return usageError(`--hash-password: ${problem}`);
  // Typed at a terminal the password is echoed; piping it in (see the README) is the way for scripts.
  if (process.stdin.isTTY) process.stderr.write('password for the line (shown as typed), then Enter and Ctrl-D:\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One line as `echo` or a here-string gives it: its line end is not part of the password.
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') return usageError('--hash-password: no password on stdin');
  process.stdout.write(`${user}:${await hashPassword(password)}\n`);
  return EXIT_OK;
}

async function checkConfig(config: GatewayConfig, path: string): Promise<number> {
  const { maskSecrets } = await import('./config/load.js');
  // stdout is the effective config alone, so it can be piped into jq or diffed.
  process.stdout.write(`${JSON.stringify(maskSecrets(config), null, 2)}\n`);
  for (const t of config.transports) {
    if (t.type !== 'serial') continue;
    const problem = await checkSerialDevice(t.path);
    if (problem !== undefined) process.stderr.write(`warning: ${problem.message}\n`);
  }
  for (const w of configWarnings(config)) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
  process.stderr.write(`configuration ${path} is valid\n`);
  return EXIT_OK;
}

async function printSystemdUnit(configPath: string): Promise<number> {
  const [{ loadConfig }, { DEFAULT_SHUTDOWN_GRACE_MS }] = await Promise.all([import('./config/load.js'), import('./config/operate.js')]);
  let graceMs = DEFAULT_SHUTDOWN_GRACE_MS;
  try {
    graceMs = (await loadConfig(configPath)).shutdown.graceMs;
  } catch (err) {
    const why = err instanceof ConfigError ? 'it is not valid yet (see --check-config)' : 'it cannot be read';
    process.stderr.write(`note: ${configPath}: ${why}; the unit uses the default shutdown grace period\n`);
  }
  const root = packageRoot()?.root ?? process.cwd();
  const account = serviceAccount();
  process.stdout.write(
    systemdUnit({
      execPath: process.execPath,
      // Flags that load code (tsx when run from source) are needed again, and the gateway's own.
      nodeOptions: unitNodeOptions(process.execArgv),
      cliPath: fileURLToPath(import.meta.url),
      configPath,
      workingDirectory: root,
      user: account.user,
      group: account.group,
      graceMs,
      environment: unitEnvironment(process.env),
    }),
  );
  return EXIT_OK;
}

/** The account the service runs as: the caller's, or under sudo the one who called sudo. */
function serviceAccount(): { user: string; group: string | undefined } {
  const sudoUser = process.env.SUDO_USER;
  const sudoGid = Number(process.env.SUDO_GID);
  if (sudoUser !== undefined && sudoUser !== '' && Number.isInteger(sudoGid)) return { user: sudoUser, group: groupName(sudoGid) };
  const me = userInfo();
  return { user: me.username, group: groupName(me.gid) };
}

async function run(config: GatewayConfig, configPath: string, levelOverride: LogLevel | undefined): Promise<number> {
  const logger = createProcessLogger({ level: levelOverride ?? config.log.level });
  // Signals are taken from the first moment: between "gateway running" and a handler installed
  // after it, a quick SIGTERM would kill the process with the default action.
  const supervisor = new Supervisor(config, configPath, logger);
  supervisor.listen();

  // A missing or forbidden serial device does not stop the start (the transport keeps trying,
  // the dongle may come later), but it deserves one plain sentence now rather than a retry log.
  for (const t of config.transports) {
    if (t.type !== 'serial') continue;
    const problem = await checkSerialDevice(t.path);
    if (problem !== undefined) logger.warn({ part: 'transport', path: t.path, problem: problem.kind }, problem.message);
  }
  for (const w of configWarnings(config)) logger.warn({ part: 'config', field: w.path }, `${w.path}: ${w.message}`);

  let running: RunningGateway;
  try {
    running = await createGateway(config, { logger, env: process.env, version: packageRoot()?.version });
  } catch (err) {
    supervisor.unlisten();
    // A config mistake found only now (a device key that is not base64) is printed whole, one
    // line per problem; anything else in one line, no stack: a port in use is the machine's state.
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `mqttsn-gateway: ${describeStartupError(err)}\n`);
    return err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
  }
  logger.info(
    {
      transports: running.transports.map((t) => t.name),
      mqtt: running.broker.listeners.map((l) => `${l.host}:${l.port}`),
      http: running.http === undefined ? null : `${running.http.host}:${running.http.port}`,
    },
    'gateway running',
  );
  return supervisor.supervise(running);
}

/**
 * The running gateway's signals: SIGINT / SIGTERM drain then close (a second one cuts the wait
 * short); SIGHUP reloads. A stop asked for while the gateway is still starting is carried out as
 * soon as it runs.
 */
class Supervisor {
  #config: GatewayConfig;
  readonly #configPath: string;
  readonly #logger: ProcessLogger;
  #running: RunningGateway | undefined;
  #stopAsked: string | undefined;
  #stopping = false;
  #stopped = false;
  readonly #hurry = new AbortController();
  #resolveExit: (code: number) => void = () => undefined;
  readonly #exit = new Promise<number>((resolve) => (this.#resolveExit = resolve));
  readonly #onInt = (): void => this.#stop('SIGINT');
  readonly #onTerm = (): void => this.#stop('SIGTERM');
  readonly #onHup = (): void => {
    if (this.#running === undefined || this.#stopping) return;
    this.#reload().catch((err: unknown) => this.#logger.error({ err }, 'reload failed'));
  };

  constructor(config: GatewayConfig, configPath: string, logger: ProcessLogger) {
    this.#config = config;
    this.#configPath = configPath;
    this.#logger = logger;
  }

  listen(): void {
    process.on('SIGINT', this.#onInt);
    process.on('SIGTERM', this.#onTerm);
    process.on('SIGHUP', this.#onHup);
  }

  unlisten(): void {
    process.off('SIGINT', this.#onInt);
    process.off('SIGTERM', this.#onTerm);
    process.off('SIGHUP', this.#onHup);
  }

  /** Resolves with the exit code once a stop has run its course. */
  supervise(running: RunningGateway): Promise<number> {
    this.#running = running;
    if (this.#stopAsked !== undefined) this.#stop(this.#stopAsked);
    return this.#exit;
  }

  #stop(signal: string): void {
    // Still listening once stopped: a late signal must not kill the process with its default
    // action and turn exit 0 into "killed by SIGTERM".
    if (this.#stopped) return;
    const running = this.#running;
    if (running === undefined) {
      this.#stopAsked ??= signal;
      this.#logger.info({ signal }, 'stop asked while starting: stopping once started');
      return;
    }
    if (this.#stopping) {
      this.#logger.warn({ signal }, 'second stop signal: not waiting for handshakes any longer');
      this.#hurry.abort();
      return;
    }
    this.#stopping = true;
    const graceMs = this.#config.shutdown.graceMs;
    const logger = this.#logger;
    logger.info({ signal, graceMs }, 'stopping: new connections and messages refused, finishing handshakes under way');
    running.http?.markStopping();
    drain(running.gateway, { graceMs, signal: this.#hurry.signal, logger })
      .then((r) => {
        const line = { waitedMs: r.waitedMs, inFlight: r.inFlight, queued: r.queued, awaitingPubrel: r.awaitingPubrel, buffered: r.buffered, refused: r.refused, flushed: r.flushed };
        if (r.settled) logger.info(line, 'handshakes finished');
        else logger.warn(line, 'grace period over with handshakes still open; their clients retry after the restart');
        return running.close();
      })
      .then(
        () => {
          logger.info({}, 'stopped');
          this.#stopped = true;
          this.#resolveExit(EXIT_OK);
        },
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          this.#stopped = true;
          this.#resolveExit(EXIT_FAILURE);
        },
      );
  }

  /** The listener's password file, read again: adding or removing a user needs no restart. */
  #reloadListenerPasswords(): void {
    try {
      const users = this.#running?.reloadListenerPasswords();
      if (users !== undefined) this.#logger.info({ users }, 'reload: listener password file read again');
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : undefined;
      this.#logger.error({ issues, err: issues === undefined ? err : undefined }, 'reload: the listener password file is not valid; the users so far stay');
    }
  }

  async #reload(): Promise<void> {
    this.#reloadListenerPasswords();
    let next: GatewayConfig;
    try {
      next = await loadConfigApart(this.#configPath, process.env);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : undefined;
      this.#logger.error({ issues, err: issues === undefined ? err : undefined }, 'reload: the configuration is not valid; nothing was changed');
      return;
    }
    if (this.#stopping || this.#running === undefined) return;
    const outcome = applyReload(this.#config, planReload(this.#config, next), { logger: this.#logger, gateway: this.#running.gateway });
    this.#config = outcome.config;
    this.#logger.info({ applied: outcome.applied, restartNeeded: outcome.restartNeeded }, 'configuration reloaded');
    if (outcome.restartNeeded.length > 0) {
      this.#logger.warn({ sections: outcome.restartNeeded }, `changes to ${outcome.restartNeeded.join(', ')} take effect at the next start`);
    }
  }
}

/** `mqttsn-gateway front-end --config FILE`: the UDP front end until SIGINT / SIGTERM. */
async function frontEndMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return usageError(`front-end: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (args.config === undefined) return usageError('front-end: --config FILE is required (the instances are in it)');
  const level = args['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return usageError(`--log-level "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  let config: FrontEndConfig;
  try {
    // Loaded here, not at the top: the front end's schema is zod, which the gateway's own running
    // path keeps out of memory (issue #19; test/integration/config-apart.test.ts).
    const { loadFrontEndConfig } = await import('./config/front-end.js');
    config = await loadFrontEndConfig(resolve(args.config));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const logger = createProcessLogger({ level: (level as LogLevel | undefined) ?? config.log.level });
  let running;
  try {
    const { startFrontEnd } = await import('./frontend/front-end.js');
    running = await startFrontEnd({
      host: config.host,
      port: config.port,
      instances: config.instances,
      gatewayId: config.gatewayId,
      probeIntervalMs: config.health.intervalMs,
      missedProbes: config.health.missedProbes,
      silentProbes: config.health.silentProbes,
      affinity: config.affinity,
      advertise: config.advertise,
      logger,
    });
  } catch (err) {
    logger.fatal({ err }, 'front end: cannot start');
    return EXIT_FAILURE;
  }
  const signal = await new Promise<string>((r) => {
    process.once('SIGINT', () => r('SIGINT'));
    process.once('SIGTERM', () => r('SIGTERM'));
  });
  // Nothing to drain: the front end holds no state, and a datagram in flight is retried by its sender.
  logger.info({ signal, stats: running.stats() }, 'front end stopping');
  await running.close();
  return EXIT_OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything was closed; should a stray handle (a library's timer) still hold the loop,
    // the exit code must not wait for it.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`mqttsn-gateway: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
