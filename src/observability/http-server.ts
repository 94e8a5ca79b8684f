/**
 * The operations endpoint: the dashboard at `/` (dashboard.ts), `GET /metrics` (Prometheus
 * text), `GET /healthz` (200 ready, 503 not, JSON saying why) and `GET /api/sessions[/<client
 * id>]` (JSON). Read-only but for the dashboard's one action, which needs the admin token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenerAuthStats } from '../broker/listener-auth.js';
import type { HttpConfig } from '../config/http.js';
import { noopLogger, type Logger } from '../logger.js';
import type { Transport } from '../transport/types.js';
import { disconnectAction, overview, serveStatic, stream, type UpstreamDetail } from './dashboard.js';
import { ObservabilityError, ObservabilityErrorCode } from './errors.js';
import { checkHealth } from './health.js';
import { createMetricsRegistry, type GatewayView } from './metrics.js';
import { startRateSampler } from './rates.js';
import { DEFAULT_SESSIONS_PAGE, describeSession, describeSessions, MAX_SESSIONS_PAGE, type SessionsQuery } from './sessions.js';
import type { UpstreamStatusProvider } from './upstream.js';

export interface ObservabilitySources {
  /** `predefined` (the table, for the dashboard) is read on every use: a reload replaces it */
  gateway: GatewayView & { readonly predefined?: { entries(): Iterable<[number, string]> } };
  transports: readonly Transport[];
  upstream?: UpstreamStatusProvider | undefined;
  logger?: Logger | undefined;
  version?: string | undefined;
  listener?: (() => ListenerAuthStats) | undefined;
  /** the dashboard's view of the bridge: mode, state since when, last error */
  upstreamDetail?: (() => UpstreamDetail) | undefined;
  /** ends a client's session (the dashboard's admin action) */
  closeSession?: ((clientId: string) => boolean) | undefined;
  /** whether the store can make writes durable (gone, full or failing makes /healthz 503) */
  store?: (() => { ok: boolean; problem?: string | undefined }) | undefined;
}

export interface ObservabilityServer {
  /** where it listens (port 0 resolved) */
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** From now on /healthz answers 503 `stopping`; the other endpoints keep answering. */
  markStopping(): void;
  /** Closes the listener and every open connection. Idempotent. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`);
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The admin token itself, read by the caller from the variable `http.adminTokenEnv` names. */
export interface HttpServerOptions extends Pick<HttpConfig, 'host' | 'port'> {
  adminToken?: string | undefined;
}

/** A percent-encoded path segment, or undefined when its escapes are malformed (`%zz`, a lone `%`). */
function decodePathPart(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function badEscape(raw: string): { error: string } {
  // The peer's text goes back truncated: an answer is no place to echo a megabyte.
  const shown = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  return { error: `the client id in the path is not valid percent-encoding: ${JSON.stringify(shown)}; encode it with encodeURIComponent` };
}

/** `?limit=` (default DEFAULT_SESSIONS_PAGE, at most MAX_SESSIONS_PAGE), `?state=`, `?after=` (the previous page's `next`). */
function sessionsQuery(params: URLSearchParams): SessionsQuery | { error: string } {
  const limitText = params.get('limit');
  let limit = DEFAULT_SESSIONS_PAGE;
  if (limitText !== null) {
    limit = Number(limitText);
    if (limitText.trim() === '' || !Number.isInteger(limit) || limit < 0) return { error: `limit ${JSON.stringify(limitText)} is not a whole number` };
    if (limit > MAX_SESSIONS_PAGE) return { error: `limit ${limit} is more than one page holds (${MAX_SESSIONS_PAGE}); ask for the next page with ?after=<next>` };
  }
  return { limit, state: params.get('state') ?? undefined, after: params.get('after') ?? undefined };
}

const SESSION_ACTION = /^\/api\/sessions\/(.+)\/disconnect$/;

export async function startObservabilityServer(config: HttpServerOptions, sources: ObservabilitySources): Promise<ObservabilityServer> {
  const logger = sources.logger ?? noopLogger;
  const registry = createMetricsRegistry(sources);
  const dashboard = { ...sources, adminToken: config.adminToken };
  const sampler = startRateSampler(registry, 1000, (err) => logger.warn({ err }, 'dashboard rates could not be read'));
  let stopping = false;
  const health = (): ReturnType<typeof checkHealth> =>
    checkHealth({ transports: sources.transports, upstream: sources.upstream, stopping: () => stopping, store: sources.store });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const action = SESSION_ACTION.exec(path);
    if (action !== null) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        sendJson(res, 405, { error: `${req.method ?? '?'} is not allowed; an action is a POST` });
        return;
      }
      const clientId = decodePathPart(action[1]!);
      if (clientId === undefined) {
        sendJson(res, 400, badEscape(action[1]!));
        return;
      }
      const result = disconnectAction(dashboard, req, clientId, logger);
      if (result.status === 401) res.setHeader('www-authenticate', 'Bearer realm="mqttsn-gateway"');
      sendJson(res, result.status, result.body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: `${req.method ?? '?'} is not allowed; this endpoint is read-only` });
      return;
    }
    if (await serveStatic(path, res)) return;
    if (path === '/api/stream') {
      stream(dashboard, sampler, req, res);
    } else if (path === '/api/overview') {
      sendJson(res, 200, { ...overview(dashboard), history: sampler.history() });
    } else if (path === '/metrics') {
      send(res, 200, registry.contentType, await registry.metrics());
    } else if (path === '/healthz') {
      const report = health();
      sendJson(res, report.ready ? 200 : 503, report);
    } else if (path === '/api/sessions') {
      const query = sessionsQuery(url.searchParams);
      if ('error' in query) {
        sendJson(res, 400, query);
        return;
      }
      const page = describeSessions(sources.gateway, query);
      sendJson(res, 200, { count: page.sessions.length, total: sources.gateway.sessions.size, next: page.next, sessions: page.sessions });
    } else if (path.startsWith('/api/sessions/')) {
      const raw = path.slice('/api/sessions/'.length);
      const clientId = decodePathPart(raw);
      if (clientId === undefined) {
        sendJson(res, 400, badEscape(raw));
        return;
      }
      const info = describeSession(sources.gateway, clientId);
      if (info === undefined) sendJson(res, 404, { error: `no session for client id ${JSON.stringify(clientId)}` });
      else sendJson(res, 200, info);
    } else if (path === '/api') {
      sendJson(res, 200, {
        endpoints: ['/', '/metrics', '/healthz', '/api/sessions', '/api/sessions/<client id>', '/api/overview', '/api/stream', 'POST /api/sessions/<client id>/disconnect'],
      });
    } else {
      sendJson(res, 404, { error: `no such endpoint: ${path}` });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error; see the gateway log' });
      else res.destroy();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.host, port: config.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    sampler.stop();
    const address = formatAddress(config.host, config.port);
    const why = err instanceof Error ? err.message : String(err);
    throw new ObservabilityError(ObservabilityErrorCode.HTTP_LISTEN_FAILED, `HTTP server cannot listen on ${address}: ${why}`, { cause: err });
  }
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  const bound = server.address() as AddressInfo;
  logger.info({ address: formatAddress(bound.address, bound.port) }, 'HTTP server listening (dashboard at /, /metrics, /healthz, /api/sessions)');

  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    registry,
    markStopping: () => {
      stopping = true;
    },
    close() {
      sampler.stop();
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of a scraper would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
