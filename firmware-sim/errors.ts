/** Errors of the device simulator: one subclass of the project's base, with stable codes. */
import { ReturnCode } from '../src/codec/index.js';
import { MqttSnError } from '../src/errors.js';

export const SimErrorCode = {
  /** no answer after N_RETRY retransmissions (MQTT-SN.md §4.13) */
  TIMEOUT: 'SIM_ERR_TIMEOUT',
  /** the gateway answered with a return code other than 0x00 (§1.4); see `returnCode` */
  REJECTED: 'SIM_ERR_REJECTED',
  /** the gateway said "congestion" (0x01): wait T_WAIT before trying again (§1.4) */
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
  /** the gateway's return code, for REJECTED and CONGESTION */
  readonly returnCode: number | undefined;

  constructor(code: SimErrorCode, message: string, options?: { cause?: unknown; returnCode?: number }) {
    super(code, message, options);
    this.returnCode = options?.returnCode;
  }
}

/** The error for a return code other than 0x00 in an answer to `what` (MQTT-SN.md §1.4). */
export function rcError(what: string, rc: number): SimError {
  if (rc === ReturnCode.CONGESTION) {
    return new SimError(SimErrorCode.CONGESTION, `${what}: gateway congested (0x01), wait T_WAIT`, { returnCode: rc });
  }
  const why = rc === ReturnCode.INVALID_TOPIC_ID ? 'invalid topic id' : rc === ReturnCode.NOT_SUPPORTED ? 'not supported' : 'rejected';
  return new SimError(SimErrorCode.REJECTED, `${what}: ${why} (0x${rc.toString(16).padStart(2, '0')})`, { returnCode: rc });
}
