/** Errors of the device simulator: one subclass of the project's base, with stable codes. */
import { MqttSnError } from '../src/errors.js';
import type { Result } from './wire/types.js';

export const SimErrorCode = {
  /** no answer after N_RETRY retransmissions (MQTT-SN.md §4.13) */
  TIMEOUT: 'SIM_ERR_TIMEOUT',
  /** the gateway refused: a 1.2 return code other than 0x00 (§1.4) or a 2.0 Reason Code of 0x80 or more; see `returnCode` */
  REJECTED: 'SIM_ERR_REJECTED',
  /** the gateway said "congestion" (1.2: 0x01; 2.0: 0xF1 or 0x89 Server busy): wait T_WAIT before trying again (§1.4) */
  CONGESTION: 'SIM_ERR_CONGESTION',
  /** the operation needs a connection the node does not have */
  NOT_CONNECTED: 'SIM_ERR_NOT_CONNECTED',
  /** the node was closed, or disconnected while the request waited */
  CLOSED: 'SIM_ERR_CLOSED',
  /** the gateway stopped answering or sent an unsolicited DISCONNECT; requests in flight fail with this */
  GATEWAY_LOST: 'SIM_ERR_GATEWAY_LOST',
  /** no GWINFO or ADVERTISE within the search time */
  NO_GATEWAY: 'SIM_ERR_NO_GATEWAY',
  /** an argument the protocol cannot carry (a 3-byte short name, QoS -1 on a normal id, ...) */
  BAD_ARGUMENT: 'SIM_ERR_BAD_ARGUMENT',
  /** the link could not be opened or written */
  LINK: 'SIM_ERR_LINK',
} as const;
export type SimErrorCode = (typeof SimErrorCode)[keyof typeof SimErrorCode];

export class SimError extends MqttSnError {
  declare readonly code: SimErrorCode;
  /** the gateway's return code (1.2) or Reason Code (2.0), for REJECTED and CONGESTION */
  readonly returnCode: number | undefined;
  /** what that code means, whichever version sent it */
  readonly meaning: Result['meaning'] | undefined;

  constructor(code: SimErrorCode, message: string, options?: { cause?: unknown; returnCode?: number; meaning?: Result['meaning'] }) {
    super(code, message, options);
    this.returnCode = options?.returnCode;
    this.meaning = options?.meaning;
  }
}

/** The error for a refusal in an answer to `what` (MQTT-SN.md §1.4; CSD01 [2.3]). */
export function rcError(what: string, r: Result): SimError {
  const hex = `0x${r.code.toString(16).padStart(2, '0')}`;
  const options = { returnCode: r.code, meaning: r.meaning };
  if (r.meaning === 'congestion') return new SimError(SimErrorCode.CONGESTION, `${what}: gateway congested (${hex}), wait T_WAIT`, options);
  return new SimError(SimErrorCode.REJECTED, `${what}: ${r.name} (${hex})`, options);
}

/** A CONNECT answered by something other than CONNACK (2.0: an AUTH step of a method the node does not speak). */
export const NO_CONNACK: Result = { code: -1, meaning: 'rejected', name: 'no CONNACK' };
