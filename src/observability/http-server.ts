/**
 * The operations endpoint: `GET /metrics` (Prometheus text), `GET /healthz` (200 ready, 503 not,
 * JSON saying why) and `GET /api/sessions[/<client id>]` (JSON). Read-only: nothing here changes
 * the gateway, so exposing it costs no more than the information it shows.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenerAuthStats } from '../broker/listener-auth.js';
import type { HttpConfig } from '../config/http.js';
import { noopLogger, type Logger } from '../logger.js';
import type { Transport } from '../transport/types.js';
import { ObservabilityError, ObservabilityErrorCode } from './errors.js';
import { checkHealth } from './health.js';
import { createMetricsRegistry, type GatewayView } from './metrics.js';
import { describeSession, describeSessions } from './sessions.js';
import type { UpstreamStatusProvider } from './upstream.js';

export interface ObservabilitySources {
  gateway: GatewayView;
  transports: readonly Transport[];
  upstream?: UpstreamStatusProvider | undefined;
  logger?: Logger | undefined;
  version?: string | undefined;
  listener?: (() => ListenerAuthStats) | undefined;
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

export async function startObservabilityServer(config: Pick<HttpConfig, 'host' | 'port'>, sources: ObservabilitySources): Promise<ObservabilityServer> {
  const logger = sources.logger ?? noopLogger;
  const registry = createMetricsRegistry(sources);
  let stopping = false;
  const health = (): ReturnType<typeof checkHealth> =>
    checkHealth({ transports: sources.transports, upstream: sources.upstream, stopping: () => stopping });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: `${req.method ?? '?'} is not allowed; this endpoint is read-only` });
      return;
    }
    const path = url.pathname;
    if (path === '/metrics') {
      send(res, 200, registry.contentType, await registry.metrics());
    } else if (path === '/healthz') {
      const report = health();
      sendJson(res, report.ready ? 200 : 503, report);
    } else if (path === '/api/sessions') {
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? undefined : Number(limitText);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
        sendJson(res, 400, { error: `limit ${JSON.stringify(limitText)} is not a whole number` });
        return;
      }
      const sessions = describeSessions(sources.gateway, { state: url.searchParams.get('state') ?? undefined, limit });
      sendJson(res, 200, { count: sessions.length, total: sources.gateway.sessions.size, sessions });
    } else if (path.startsWith('/api/sessions/')) {
      const clientId = decodeURIComponent(path.slice('/api/sessions/'.length));
      const info = describeSession(sources.gateway, clientId);
      if (info === undefined) sendJson(res, 404, { error: `no session for client id ${JSON.stringify(clientId)}` });
      else sendJson(res, 200, info);
    } else if (path === '/') {
      sendJson(res, 200, { endpoints: ['/metrics', '/healthz', '/api/sessions', '/api/sessions/<client id>'] });
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
    const address = formatAddress(config.host, config.port);
    const why = err instanceof Error ? err.message : String(err);
    throw new ObservabilityError(ObservabilityErrorCode.HTTP_LISTEN_FAILED, `HTTP server cannot listen on ${address}: ${why}`, { cause: err });
  }
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  const bound = server.address() as AddressInfo;
  logger.info({ address: formatAddress(bound.address, bound.port) }, 'HTTP server listening (/metrics, /healthz, /api/sessions)');

  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    registry,
    markStopping: () => {
      stopping = true;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of a scraper would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
