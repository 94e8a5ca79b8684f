#!/usr/bin/env node
/**
 * `mqttsn-gateway`: the only module that reads argv and env, handles signals and decides the exit
 * code (0 clean stop, 1 runtime failure, 2 bad config or arguments).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config/index.js';
import { LOG_LEVELS } from './config/schema.js';
import { MqttSnError } from './errors.js';
import { createGateway, type RunningGateway } from './index.js';

const HELP = `Usage: mqttsn-gateway [options]

An MQTT-SN v1.2 gateway with a local MQTT broker core.

Options:
  -c, --config FILE     configuration file (default: ./gateway.config.json)
      --log-level LEVEL trace, debug, info, warn, error, fatal or silent (overrides log.level)
  -h, --help            show this help
  -v, --version         show the version
`;

/** The package version; the CLI runs from `src/` (tsx) or `dist/src/`, so look upwards. */
function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mqttsn-gateway' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', default: 'gateway.config.json' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`mqttsn-gateway: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const level = args['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(`mqttsn-gateway: --log-level "${level}" is not one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }

  let config;
  try {
    config = await loadConfig(args.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const logger = pino({ level: level ?? config.log.level, base: { pid: process.pid } });
  let running: RunningGateway;
  try {
    running = await createGateway(config, { logger });
  } catch (err) {
    const message = err instanceof MqttSnError ? `${err.message} (${err.code})` : String(err);
    logger.fatal({ err }, 'gateway could not start');
    process.stderr.write(`mqttsn-gateway: ${message}\n`);
    return err instanceof MqttSnError && err.code === 'MQTTSN_ERR_CONFIG' ? 2 : 1;
  }
  logger.info(
    {
      transports: running.transports.map((t) => t.name),
      mqtt: running.broker.listeners.map((l) => `${l.host}:${l.port}`),
    },
    'gateway running',
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mqttsn-gateway: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
