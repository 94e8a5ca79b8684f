/**
 * Network rules every section shares, written once: what a host may be, a listening port, and
 * when two binds collide. `transports`, `broker.listen` and `http` all take their hosts from here.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigIssueCode } from './errors.js';
import { report, type IssueSink } from './fields.js';

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** An IP literal (IPv6 with an optional `%zone`) or an RFC 1123 host name. */
export function isHost(value: string): boolean {
  if (isIP(stripZone(value)) !== 0) return true;
  return value.length <= 253 && value.split('.').every((label) => LABEL.test(label));
}

export function stripZone(address: string): string {
  const i = address.indexOf('%');
  return i === -1 ? address : address.slice(0, i);
}

/** 4, 6, or 0 for a host name (whose family is unknown until it is resolved). */
export function family(host: string): 0 | 4 | 6 {
  const f = isIP(stripZone(host));
  return f === 4 || f === 6 ? f : 0;
}

/** A host to bind or reach: an IP address or a host name, `fallback` when absent. */
export const hostField = (description: string, fallback: string) =>
  z
    .string()
    .refine(isHost, {
      params: { code: ConfigIssueCode.INVALID_HOST },
      error: (iss) => `${JSON.stringify(iss.input)} is not an IP address or host name`,
    })
    .default(fallback)
    .describe(description);

/** A port to listen on; 0 asks the system for a free one. */
export const listenPort = (fallback: number, description: string) =>
  z.int().min(0).max(65_535).default(fallback).describe(`${description} 0 picks a free port (tests).`);

/** Two binds collide when they are equal or one of them is a wildcard that covers the other. */
export function bindsOverlap(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  // The UDP transport binds :: IPv6-only, so `0.0.0.0` and `::` on one port can run side by side.
  if (x === '::') return family(y) === 6;
  if (y === '::') return family(x) === 6;
  if (x === '0.0.0.0') return family(y) === 4;
  if (y === '0.0.0.0') return family(x) === 4;
  return false;
}

/** `host:port`, with IPv6 addresses in brackets. */
export function formatAddress(h: string, p: number): string {
  return family(h) === 6 ? `[${h}]:${p}` : `${h}:${p}`;
}

export interface Bind {
  index: number;
  host: string;
  port: number;
}

/** The bind of a list entry that has a host and a port; none for port 0 (a free port never collides). */
export function bindOf(entry: Record<string, unknown>, index: number): Bind | undefined {
  if (typeof entry.host !== 'string' || typeof entry.port !== 'number' || entry.port === 0) return undefined;
  return { index, host: entry.host, port: entry.port };
}

/** The earlier bind `bind` collides with; a bind that collides with none joins `seen`. */
export function claimBind(seen: Bind[], bind: Bind): Bind | undefined {
  const clash = seen.find((o) => o.port === bind.port && bindsOverlap(o.host, bind.host));
  if (clash === undefined) seen.push(bind);
  return clash;
}

/** Reports a bind that collides with an earlier one, in the words `message` gives. */
export function reportClash(ctx: IssueSink, bind: Bind, message: string): void {
  report(ctx, [bind.index], ConfigIssueCode.DUPLICATE_ADDRESS, message, { host: bind.host, port: bind.port });
}
