import { BridgeErrorCode, errorWithDetail } from '../errors.js';

export { BridgeErrorCode };

/** `returnCode`: the CONNACK return code, for `MQTTSN_ERR_UPSTREAM_REFUSED`. */
export class BridgeError extends errorWithDetail<BridgeErrorCode, 'returnCode', number>('returnCode') {}

/** MQTT 3.1.1 §3.2.2.3, in the words an operator acts on. */
const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version (the broker does not speak MQTT 3.1.1)',
  2: 'client id rejected (check upstream.clientId)',
  3: 'server unavailable',
  4: 'bad user name or password (check upstream.username and the password)',
  5: 'not authorized (check the credentials, client certificate and the broker ACL)',
};

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL']);

/**
 * Turns whatever MQTT.js or the socket reported into a coded error. `established` tells a lost
 * connection from a failed attempt.
 */
export function classifyUpstreamError(err: unknown, established: boolean): BridgeError {
  if (err instanceof BridgeError) return err;
  const e: Error & { code?: unknown; library?: unknown } = err instanceof Error ? err : new Error(String(err));
  const code = e.code;
  // MQTT.js reports a CONNACK refusal as an error whose `code` is the return code.
  if (typeof code === 'number' && !established) {
    const why = CONNACK_REFUSALS[code] ?? `return code ${code}`;
    return new BridgeError(BridgeErrorCode.REFUSED, `the upstream broker refused the connection: ${why}`, { cause: err, returnCode: code });
  }
  const text = typeof code === 'string' ? code : '';
  const tls =
    text.startsWith('ERR_TLS') ||
    text.startsWith('ERR_SSL') ||
    text.startsWith('CERT_') ||
    text.includes('CERT') ||
    text === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    text === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    text.startsWith('UNABLE_TO_') ||
    e.library === 'SSL routines' ||
    e.message === 'TLS not authorized';
  if (tls) return new BridgeError(BridgeErrorCode.TLS, `TLS with the upstream broker failed: ${e.message}`, { cause: err });
  if (!established && (UNREACHABLE_CODES.has(text) || /connack timeout/i.test(e.message))) {
    return new BridgeError(BridgeErrorCode.UNREACHABLE, `the upstream broker cannot be reached: ${e.message}`, { cause: err });
  }
  if (established) return new BridgeError(BridgeErrorCode.LOST, `the upstream connection was lost: ${e.message}`, { cause: err });
  return new BridgeError(BridgeErrorCode.UNREACHABLE, `connecting to the upstream broker failed: ${e.message}`, { cause: err });
}
