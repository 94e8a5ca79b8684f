/** Pieces every section of the config schema uses: issue reporting and shared field shapes. */
import { z } from 'zod';
import { ConfigIssueCode } from './errors.js';
import type { PathSegment } from './path.js';

// Node's timers overflow above 2^31-1 ms and then fire after 1 ms, so no delay may exceed it.
export const MAX_TIMER_MS = 2_147_483_647;

// Cross-field checks run even when a sibling already failed (zod skips them by default), so one
// pass reports every mistake. They therefore read their input defensively.
export const always = { when: () => true };

export interface IssueSink {
  addIssue(issue: z.core.$ZodSuperRefineIssue): void;
}

export function report(ctx: IssueSink, path: PathSegment[], code: ConfigIssueCode, message: string, input: unknown): void {
  ctx.addIssue({ code: 'custom', path, message, input, params: { code } });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An exponential backoff `{ initialMs, maxMs }` with `initialMs <= maxMs` checked. */
export function backoffSchema(o: { initialMs: number; maxMs: number; initialText: string; maxText: string; description: string }) {
  return z
    .strictObject({
      initialMs: z.int().min(1).max(MAX_TIMER_MS).default(o.initialMs).describe(o.initialText),
      maxMs: z.int().min(1).max(MAX_TIMER_MS).default(o.maxMs).describe(o.maxText),
    })
    .superRefine((r: unknown, ctx) => {
      if (isRecord(r) && typeof r.initialMs === 'number' && typeof r.maxMs === 'number' && r.initialMs > r.maxMs) {
        report(ctx, ['initialMs'], ConfigIssueCode.INCONSISTENT, `${r.initialMs} is greater than maxMs (${r.maxMs}); expected initialMs <= maxMs`, r.initialMs);
      }
    }, always)
    .prefault({})
    .describe(o.description);
}

/** MQTT's largest packet: 1 + 4 fixed-header bytes and a Remaining Length of 268,435,455 (MQTT 3.1.1 §2.2.3). */
const MQTT_MAX_PACKET_BYTES = 268_435_460;

/** A cap on the size of incoming MQTT packets, 1 MiB unless set. */
export const maxPacketBytes = (description: string) =>
  z
    .int()
    .min(128)
    .max(MQTT_MAX_PACKET_BYTES)
    .default(1024 * 1024)
    .describe(`${description} Checked on the packet's header, before its body is read (MQTT allows up to ${MQTT_MAX_PACKET_BYTES}).`);
