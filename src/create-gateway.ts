/**
 * `createGateway(config)` puts the parts together (broker core, gateway core, transports).
 * Composition only; every rule lives in its layer.
 *
 * Apart from index.ts, which also exports the config API: the CLI imports this module, and a
 * running gateway carries no zod and no config schema (issue #19; the CLI validates the config in
 * a child process, see config/load-apart.ts). Loaded only when the config uses them: the bridge
 * (MQTT.js), the HTTP server (prom-client), the upstream secrets' and password file's readers.
 */
import type { Bridge } from './bridge/types.js';
import { createLocalBroker } from './broker/local-broker.js';
import { durableBrokerView, persistRetained, type RetainedPersistence } from './broker/retained-persistence.js';
import type { BrokerCore } from './broker/types.js';
import { systemClock, type Clock } from './clock.js';
import { unsetVariableIssue } from './config/env-issue.js';
import { ConfigError, ConfigIssueCode } from './config/errors.js';
import type { ListenerAuthConfig } from './config/listener-auth.js';
import { readPasswordFile } from './config/password-file.js';
import type { GatewayConfig } from './config/schema.js';
import type { ListenerAcl, ListenerAuthOptions } from './broker/listener-auth.js';
import type { PasswordTable } from './broker/passwords.js';
import { Authorizer } from './gateway/auth.js';
import { MqttSnError } from './errors.js';
import { Gateway } from './gateway/gateway.js';
import { childLogger, noopLogger, type Logger } from './logger.js';
import type { ObservabilityServer } from './observability/http-server.js';
import { openStore, type GatewayStore } from './store/open-store.js';
import { createTransport } from './transport/index.js';
import type { Transport } from './transport/types.js';

export interface GatewayDependencies {
  logger?: Logger;
  clock?: Clock;
  /**
   * Where `upstream.passwordEnv` and `upstream.tls.passphraseEnv` are looked up (the CLI passes
   * `process.env`: only it reads the environment). Default: none.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** shown as mqttsn_build_info{version} on /metrics */
  version?: string;
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly broker: BrokerCore;
  readonly transports: readonly Transport[];
  /** the upstream bridge, when the config has an `upstream` section */
  readonly bridge: Bridge | undefined;
  /** /metrics, /healthz and /api/sessions, when `http.enabled` */
  readonly http: ObservabilityServer | undefined;
  /** sessions, queues and retained messages across restarts (`store` section) */
  readonly store: GatewayStore;
  /**
   * Reads `broker.auth.passwordFile` again and uses it for new listener CONNECTs (SIGHUP).
   * Returns the number of users, or undefined without `broker.auth`; a file that is now missing
   * or malformed throws a `ConfigError` naming the field and changes nothing.
   */
  reloadListenerPasswords(): number | undefined;
  /** Stops taking frames, closes transports, then the bridge, the broker core and last the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a gateway from a validated config. When any part cannot start (a port in use, say),
 * what was already started is closed again and the error names the part.
 */
export async function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const logger = deps.logger ?? noopLogger;
  const clock = deps.clock ?? systemClock;
  // First: a store file the gateway must not use (damaged, another program's, in use) stops the
  // start before anything listens.
  const listenerAuth = config.broker.auth === undefined ? undefined : readListenerAuth(config.broker.auth);
  let users = listenerAuth?.users;
  const store = openStore(config.store, { logger: childLogger(logger, { part: 'store' }), clock });
  const sessionStore = store.sessions;
  const broker = await createLocalBroker({
    listen: config.broker.listen,
    auth: listenerAuth,
    persistence: store.brokerPersistence,
    limits: { maxConnections: config.broker.maxConnections, maxPacketBytes: config.broker.maxPacketBytes, connectTimeoutMs: config.broker.connectTimeoutMs },
    retained: { maxMessages: config.broker.maxRetainedMessages, maxBytes: config.broker.maxRetainedBytes, maxPerClient: config.broker.maxRetainedPerClient },
    logger: childLogger(logger, { part: 'broker' }),
    durable: sessionStore === undefined ? undefined : () => sessionStore.flush(),
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const kept = store.brokerPersistence?.kept;
  if (kept !== undefined && kept.queued + kept.incoming + kept.wills > 0) logger.info(kept, 'local MQTT sessions restored from the store');
  // Made now, started below (after the retained messages are restored): in transparent mode the
  // gateway needs the bridge as its port to the upstream, one connection per client.
  let bridge: Bridge | undefined;
  if (config.upstream !== null) {
    const upstream = config.upstream;
    // Loaded only when configured: MQTT.js and the bridge weigh about 15 MB resident that a
    // gateway without an upstream would carry for nothing (issue #19).
    // The config layer reads the secrets' variables and files; the bridge gets their values.
    bridge = await Promise.all([import('./bridge/index.js'), import('./config/secrets.js').then((s) => s.resolveUpstreamSecrets(upstream, deps.env ?? {}))]).then(([{ createBridge }, secrets]) => createBridge(upstream, {
      // With a durable store the upstream's messages are acknowledged once stored, and retained ones restored at start are not sent back up.
      broker: sessionStore === undefined ? broker : durableBrokerView(broker, sessionStore),
      queue: store.outboundQueue(upstream.queue),
      clock,
      logger: childLogger(logger, { part: 'bridge' }),
      secrets,
    })).catch(async (err: unknown) => {
      await broker.close();
      await store.close();
      throw err;
    });
  }
  const gateway = new Gateway({
    options: config,
    broker,
    clock,
    logger: childLogger(logger, { part: 'gateway' }),
    store: store.sessions,
    // Advertise only while the upstream works, when there is one (MQTT-SN.md §3).
    mayAdvertise: () => bridge?.connected ?? true,
    // Transparent mode: the bridge answers for each client; otherwise the broker core does.
    uplink: bridge?.uplink,
    // 2.0 clients' MQTT-BASIC is checked against the local listener's users (broker.auth).
    passwords: () => users,
  });
  let retained: RetainedPersistence | undefined;
  const transports: Transport[] = [];
  let http: ObservabilityServer | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await http?.close();
    await gateway.stop();
    await Promise.allSettled(transports.map((t) => t.close()));
    await bridge?.close();
    await retained?.stop();
    await broker.close();
    await store.close();
  };
  try {
    // Before anything subscribes to the broker: restored retained messages are retained, not news.
    if (store.sessions !== undefined) retained = await persistRetained(broker, store.sessions, { logger: childLogger(logger, { part: 'store' }) });
    // Before the gateway takes messages, so none is missed; it does not wait for the upstream.
    await bridge?.start();
    for (const entry of config.transports) {
      // One child logger per transport, so every line of a dongle's troubles says which one.
      const medium = entry.type === 'udp' ? `udp:${entry.host}:${entry.port}` : `serial:${entry.path}`;
      const t = createTransport(entry, { logger: childLogger(logger, { part: 'transport', medium }) });
      transports.push(t);
      gateway.attach(t);
      await t.open();
      // A serial device may be absent at start: the transport then retries on its own.
      if (t.state === 'open') logger.info({ transport: t.name }, 'transport open');
      else logger.warn({ transport: t.name, state: t.state }, 'transport not open yet; retrying in the background');
    }
    await gateway.start();
    const listenerStats = broker.listenerAuthStats;
    if (config.http.enabled) {
      // Loaded only when enabled: prom-client and the dashboard stay out of a gateway without HTTP (issue #19).
      const [{ startObservabilityServer }, { bridgeStatusProvider }] = await Promise.all([import('./observability/http-server.js'), import('./observability/upstream.js')]);
      http = await startObservabilityServer({ ...config.http, adminToken: adminToken(config.http.adminTokenEnv, deps.env) }, {
        gateway,
        closeSession: (clientId) => gateway.closeSession(clientId),
        store: () => store.health(),
        upstreamDetail: bridge === undefined ? undefined : () => bridge.status(),
        transports,
        upstream: bridge === undefined ? undefined : bridgeStatusProvider(bridge),
        logger: childLogger(logger, { part: 'http' }),
        version: deps.version,
        listener: listenerStats === undefined ? undefined : () => listenerStats,
      });
    }
  } catch (err) {
    await close();
    if (err instanceof MqttSnError) throw err;
    throw new MqttSnError('MQTTSN_ERR_START', `gateway could not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const reloadListenerPasswords = (): number | undefined => {
    const auth = config.broker.auth;
    if (auth === undefined) return undefined;
    const read = readUsers(auth.passwordFile);
    broker.replaceListenerUsers(read);
    users = read;
    return read.size;
  };
  return { gateway, broker, transports, bridge, http, store, reloadListenerPasswords, close };
}

/**
 * The dashboard's admin token, from the variable `http.adminTokenEnv` names. Unset or empty is
 * a config error naming the field: an empty token would let anyone in.
 */
function adminToken(name: string | undefined, env: GatewayDependencies['env']): string | undefined {
  if (name === undefined) return undefined;
  const value = env?.[name];
  if (value === undefined) throw new ConfigError([unsetVariableIssue('http.adminTokenEnv', name)]);
  if (value === '') throw new ConfigError([{ path: 'http.adminTokenEnv', code: ConfigIssueCode.INVALID_VALUE, message: `the environment variable ${name} is empty; put the admin token in it` }]);
  return value;
}

/** The listener's users, read now: the file may have changed since the config was loaded. */
function readListenerAuth(auth: ListenerAuthConfig): ListenerAuthOptions {
  return { users: readUsers(auth.passwordFile), allowAnonymous: auth.allowAnonymous, acl: auth.acl === undefined ? undefined : listenerAcl(auth.acl) };
}

function readUsers(passwordFile: string): PasswordTable {
  const read = readPasswordFile(passwordFile);
  if (read.table === undefined) throw new ConfigError(read.issues);
  return read.table;
}

/**
 * Listener rules checked by the gateway's own ACL code, user names in place of client ids, so the
 * two kinds of rules cannot drift apart in meaning.
 */
function listenerAcl(rules: NonNullable<ListenerAuthConfig['acl']>): ListenerAcl {
  const perUser = (filters: readonly string[]): string[] => filters.map((f) => f.replaceAll('%u', '%c'));
  const authorizer = new Authorizer({
    acl: rules.map((r) => ({ clientId: r.user, publish: perUser(r.publish), subscribe: perUser(r.subscribe) })),
    qosMinusOne: { topics: 'all', shortTopics: true },
    takeover: 'allow',
  });
  return { mayPublish: (user, topic) => authorizer.mayPublish(user, topic), maySubscribe: (user, filter) => authorizer.maySubscribe(user, filter) };
}
