/**
 * `upstream.profile`: a hosted MQTT service the user names instead of learning its rules. The
 * checks here run inside the `upstream` schema, on the raw section, so a profile's requirements
 * read like every other config mistake: the field, the value, what is expected.
 */
import { isIP } from 'node:net';
import { ConfigIssueCode } from './errors.js';
import type { PathSegment } from './path.js';

/** Services with a profile. azure-iot-hub and adafruit-io join this list later. */
export const UPSTREAM_PROFILES = ['aws-iot'] as const;
export type UpstreamProfileName = (typeof UPSTREAM_PROFILES)[number];

export interface ProfileProblem {
  path: PathSegment[];
  code: ConfigIssueCode;
  message: string;
  input: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** What the section lacks for its profile (the schema reports plain URL and TLS mistakes itself). */
export function profileProblems(u: Record<string, unknown>): ProfileProblem[] {
  if (u.profile !== 'aws-iot') return [];
  const out: ProfileProblem[] = [];
  const aws = 'AWS IoT Core';
  if (typeof u.url === 'string' && !u.url.startsWith('mqtts://')) {
    out.push({
      path: ['url'],
      code: ConfigIssueCode.INCONSISTENT,
      message: `${JSON.stringify(u.url)} is not mqtts://; ${aws} takes MQTT only over TLS: expected mqtts://<prefix>-ats.iot.<region>.amazonaws.com[:8883]`,
      input: u.url,
    });
  }
  const tls = isRecord(u.tls) ? u.tls : undefined;
  if (tls === undefined) {
    out.push({
      path: ['tls'],
      code: ConfigIssueCode.MISSING,
      message: `missing; the aws-iot profile needs tls.cert and tls.key (the thing's certificate and private key from the ${aws} console) and usually tls.ca (AmazonRootCA1.pem)`,
      input: undefined,
    });
  } else {
    // The schema already reports a lone cert or key; this is the case where both are absent.
    if (tls.cert === undefined && tls.key === undefined) {
      for (const field of ['cert', 'key'] as const) {
        out.push({
          path: ['tls', field],
          code: ConfigIssueCode.MISSING,
          message: `missing; ${aws} authenticates the thing by its X.509 ${field === 'cert' ? 'certificate (xxx-certificate.pem.crt)' : 'private key (xxx-private.pem.key)'}`,
          input: undefined,
        });
      }
    }
  }
  // Without SNI the service cannot pick the endpoint and refuses the handshake; an IP address cannot be sent as SNI.
  const host = hostOf(u.url);
  if (host !== undefined && host !== '' && isIP(host.replace(/^\[|\]$/g, '')) !== 0 && tls?.servername === undefined) {
    out.push({
      path: ['url'],
      code: ConfigIssueCode.INVALID_VALUE,
      message: `${JSON.stringify(u.url)} names the endpoint by IP address, which cannot be sent as TLS SNI; use the endpoint host name (aws iot describe-endpoint --endpoint-type iot:Data-ATS), or set tls.servername`,
      input: u.url,
    });
  }
  if (u.password !== undefined || u.passwordEnv !== undefined) {
    out.push({
      path: [u.password !== undefined ? 'password' : 'passwordEnv'],
      code: ConfigIssueCode.INCONSISTENT,
      message: `is set, but ${aws} on port 8883 authenticates by client certificate only; remove it`,
      input: '***',
    });
  }
  return out;
}
