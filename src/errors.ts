/**
 * One error base for the whole gateway. Every error carries a stable `code` (tests and callers
 * match on codes, never on message text); each layer has its own subclass so a log line tells
 * where a failure came from.
 */
export class MqttSnError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Stable codes of the codec. */
export const CodecErrorCode = {
  TRUNCATED: 'MQTTSN_ERR_TRUNCATED',
  LENGTH_MISMATCH: 'MQTTSN_ERR_LENGTH_MISMATCH',
  UNKNOWN_TYPE: 'MQTTSN_ERR_UNKNOWN_TYPE',
  BAD_FLAGS: 'MQTTSN_ERR_BAD_FLAGS',
  BAD_FIELD: 'MQTTSN_ERR_BAD_FIELD',
  /** encode only: a message id of 0 where the message needs one */
  BAD_MSG_ID: 'MQTTSN_ERR_BAD_MSG_ID',
  /** encode only: a topic id or short topic name that cannot be sent */
  BAD_TOPIC: 'MQTTSN_ERR_BAD_TOPIC',
  /** encode only: the message would exceed 65535 bytes */
  TOO_LARGE: 'MQTTSN_ERR_TOO_LARGE',
  /** decode only: a defect in the decoder itself; reported instead of thrown */
  INTERNAL: 'MQTTSN_ERR_INTERNAL',
} as const;
export type CodecErrorCode = (typeof CodecErrorCode)[keyof typeof CodecErrorCode];

/**
 * What `decode` returns for bytes that are not a valid MQTT-SN message. It is returned, not
 * thrown: garbage on a radio link is normal traffic for a gateway, not an exception.
 */
export class DecodeError extends MqttSnError {
  declare readonly code: CodecErrorCode;
  /** The MsgType byte when it could be read, so a log line can say what the peer tried. */
  readonly msgType: number | undefined;

  constructor(code: CodecErrorCode, message: string, msgType?: number) {
    super(code, message);
    this.msgType = msgType;
  }
}

/** Thrown by `encode` for a packet that cannot be put on the wire. */
export class EncodeError extends MqttSnError {
  declare readonly code: CodecErrorCode;
}

/** Stable codes of the transport layer. */
export const TransportErrorCode = {
  FRAME_TOO_LARGE: 'MQTTSN_ERR_FRAME_TOO_LARGE',
  BAD_CHECKSUM: 'MQTTSN_ERR_BAD_CHECKSUM',
  BAD_FRAME: 'MQTTSN_ERR_BAD_FRAME',
  NOT_OPEN: 'MQTTSN_ERR_NOT_OPEN',
  UNKNOWN_PEER: 'MQTTSN_ERR_UNKNOWN_PEER',
  OPEN_FAILED: 'MQTTSN_ERR_OPEN_FAILED',
  /** the medium refused or failed a write (socket error, serial write error) */
  SEND_FAILED: 'MQTTSN_ERR_SEND_FAILED',
  /** broadcast() on a medium, or a configuration, that has no broadcast */
  BROADCAST_UNSUPPORTED: 'MQTTSN_ERR_BROADCAST_UNSUPPORTED',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends MqttSnError {
  declare readonly code: TransportErrorCode;
}
