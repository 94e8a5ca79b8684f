/**
 * The dashboard behind `/`: static files (dashboard/ beside this module, copied into dist by the
 * build), a snapshot at `/api/overview`, the same snapshot every second as Server-Sent Events at
 * `/api/stream`, and the one action that changes state, `POST /api/sessions/<id>/disconnect`,
 * which needs the admin token (`http.adminTokenEnv`). Without a token the dashboard is read-only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import type { Logger } from '../logger.js';
import type { Transport } from '../transport/types.js';
import type { RateSample, RateSampler } from './rates.js';
import { describeSessions, type SessionInfo, type SessionsView } from './sessions.js';
import type { UpstreamStatusProvider } from './upstream.js';

/** What the dashboard shows of the upstream bridge beyond the metrics' figures (mode, since, last error). */
export interface UpstreamDetail {
  mode: string;
  profile?: string | undefined;
  state: string;
  connected: boolean;
  /** when the current state began, ISO 8601 */
  since: string;
  lastError?: { message: string; at: string } | undefined;
  queue: { messages: number };
}

export interface DashboardSources {
  /** `predefined` is read on every use: a reload replaces it */
  gateway: SessionsView & { readonly predefined?: { entries(): Iterable<[number, string]> } };
  transports: readonly Transport[];
  upstream?: UpstreamStatusProvider | undefined;
  upstreamDetail?: (() => UpstreamDetail) | undefined;
  /** ends a session; false when there is none (Gateway.closeSession) */
  closeSession?: ((clientId: string) => boolean) | undefined;
  /** the admin token, read from the environment variable `http.adminTokenEnv` names */
  adminToken?: string | undefined;
}

/** At most this many sessions go out per second to each page; the total is said beside them. */
export const MAX_STREAMED_SESSIONS = 500;

/** What may wait unread in one page's stream before its ticks are skipped. */
const MAX_UNREAD_BYTES = 1 << 20;

export interface Overview {
  at: number;
  sessions: { total: number; shown: SessionInfo[] };
  transports: Array<{ name: string; state: string; framesIn: number; framesOut: number }>;
  upstream: UpstreamDetail | { connected: boolean; queueDepth: number } | null;
  topics: { predefined: Array<{ id: number; name: string }>; mostUsed: Array<{ name: string; subscribers: number; registrations: number }> };
  /** whether actions are possible at all (an admin token is configured) */
  actions: boolean;
}

/**
 * The topics most sessions use: subscriptions and registrations, counted over every session
 * (not only the ones shown) straight from the gateway's maps, without describing each session.
 * The gateway keeps no per-topic message counter, so this is use, not traffic.
 */
function mostUsedTopics(gateway: SessionsView, n = 10): Overview['topics']['mostUsed'] {
  const byName = new Map<string, { name: string; subscribers: number; registrations: number }>();
  const at = (name: string) => {
    let e = byName.get(name);
    if (e === undefined) byName.set(name, (e = { name, subscribers: 0, registrations: 0 }));
    return e;
  };
  for (const s of gateway.sessions.values()) {
    for (const filter of s.subscriptions.keys()) at(filter).subscribers++;
    for (const r of s.registry.entries()) at(r.name).registrations++;
  }
  return [...byName.values()].sort((a, b) => b.subscribers + b.registrations - (a.subscribers + a.registrations) || a.name.localeCompare(b.name)).slice(0, n);
}

export function overview(src: DashboardSources): Overview {
  // Only the sessions a page shows are described: the first ones by client id, as /api/sessions pages them.
  const shown = describeSessions(src.gateway, { limit: MAX_STREAMED_SESSIONS }).sessions;
  const status = src.upstream?.();
  return {
    at: Date.now(),
    sessions: { total: src.gateway.sessions.size, shown },
    transports: src.transports.map((t) => {
      const s = t.stats();
      return { name: t.name, state: t.state, framesIn: s.framesIn, framesOut: s.framesOut };
    }),
    upstream: src.upstreamDetail?.() ?? (status === undefined ? null : { connected: status.connected, queueDepth: status.queueDepth }),
    topics: { predefined: [...(src.gateway.predefined?.entries() ?? [])].map(([id, name]) => ({ id, name })), mostUsed: mostUsedTopics(src.gateway) },
    actions: src.adminToken !== undefined,
  };
}

const STATIC_DIR = new URL('./dashboard/', import.meta.url);
const STATIC: Record<string, string> = { '/': 'index.html', '/dashboard.js': 'dashboard.js', '/dashboard.css': 'dashboard.css' };
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** Serves a dashboard file when `path` names one; false otherwise. */
export async function serveStatic(path: string, res: ServerResponse): Promise<boolean> {
  const file = STATIC[path];
  if (file === undefined) return false;
  const body = await readFile(new URL(file, STATIC_DIR));
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    // The page loads nothing from elsewhere; a script injected through a client id could not either.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
  return true;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares in constant time: hashing first makes the lengths equal, so the length leaks nothing either. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1]?.trim();
}

export type ActionResult = { status: number; body: Record<string, unknown> };

/**
 * An admin action: refused without a configured token (403), without the right one (401);
 * logged either way with who asked (the peer address) and what. A browser cannot send it from
 * another site: the Authorization header makes it a request that needs CORS, which this server
 * never grants.
 */
export function disconnectAction(src: DashboardSources, req: IncomingMessage, clientId: string, logger: Logger): ActionResult {
  const who = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  const what = { action: 'disconnect', clientId, from: who };
  if (src.adminToken === undefined || src.closeSession === undefined) {
    logger.warn(what, 'admin action refused: no admin token is configured (http.adminTokenEnv)');
    return { status: 403, body: { error: 'the dashboard is read-only: set http.adminTokenEnv to allow actions' } };
  }
  if (!tokenMatches(src.adminToken, bearer(req))) {
    logger.warn(what, 'admin action refused: missing or wrong admin token');
    return { status: 401, body: { error: 'missing or wrong admin token (Authorization: Bearer <token>)' } };
  }
  if (!src.closeSession(clientId)) return { status: 404, body: { error: `no session for client id ${JSON.stringify(clientId)}` } };
  logger.info(what, 'admin action: session disconnected');
  return { status: 200, body: { disconnected: clientId } };
}

/**
 * Server-Sent Events: first `hello` (the rate history), then every second `tick` with the
 * snapshot and the newest rate sample. Ends when the page goes away.
 */
export function stream(src: DashboardSources, sampler: RateSampler, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const event = (name: string, data: unknown): void => {
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  event('hello', { history: sampler.history(), overview: overview(src) });
  const off = sampler.onSample((sample: RateSample) => {
    // A page that does not read (a phone asleep on a slow link) is skipped, not buffered without end.
    if (res.writableLength > MAX_UNREAD_BYTES) return;
    event('tick', { sample, overview: overview(src) });
  });
  const end = (): void => {
    off();
  };
  req.on('close', end);
  res.on('error', end);
}
