/**
 * The `http` section: Prometheus metrics, health and the sessions API. Off without the section;
 * a section that is there is on unless it says `"enabled": false` (writing the port is asking for
 * the server). On the loopback unless told otherwise: the sessions API names every device, which
 * is nobody's business on the LAN unless the operator says so.
 */
import { z } from 'zod';
import { envName } from './env.js';
import { hostField, listenPort } from './net.js';

/** The OpenTelemetry Prometheus exporter's port: free on a typical Raspberry Pi, and familiar to whoever scrapes it. */
export const DEFAULT_HTTP_PORT = 9464;

const section = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the dashboard (/), /metrics, /healthz and /api/sessions. false keeps the section but switches the server off.'),
    host: hostField('Address the HTTP server binds. The loopback by default; 0.0.0.0 or :: exposes the sessions API to the network.', '127.0.0.1'),
    port: listenPort(DEFAULT_HTTP_PORT, 'TCP port of the HTTP server.'),
    adminTokenEnv: envName(
      'Environment variable holding the dashboard\'s admin token. Without it the dashboard is read-only: actions that change state (disconnect a session) are refused.',
    ),
  });

/** An absent section: every field's own default, switched off. */
const ABSENT = { ...section.parse({}), enabled: false };

export const httpConfigSchema = section
  .optional()
  .transform((s) => s ?? ABSENT)
  .describe(
    'HTTP endpoint for operations: Prometheus /metrics, /healthz (200 ready, 503 not) and /api/sessions. ' +
      'Off without this section; on when it is present, e.g. { "port": 9464 }, unless it says "enabled": false.',
  );

export type HttpConfig = z.output<typeof httpConfigSchema>;
