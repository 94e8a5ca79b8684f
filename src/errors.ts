/**
 * One error base for the whole gateway. Every error carries a stable `code` (tests and callers
 * match on codes, never on message text); each layer has its own subclass so a log line tells
 * where a failure came from. Every layer's codes are catalogued here, in one place, so a code is
 * never taken twice and an operator finds them all in one file; the subclasses stay with their layer.
 */
export class MqttSnError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The options of a layer's error with a detail: the cause, and that detail. */
export type DetailOptions<K extends string, V> = { cause?: unknown } & { [P in K]?: V };

/** A layer's error class whose errors carry the detail `K` besides the code. */
export type DetailedErrorClass<C extends string, K extends string, V> = new (
  code: C,
  message: string,
  options?: DetailOptions<K, V>,
) => MqttSnError & { readonly code: C } & { readonly [P in K]: V | undefined };

/**
 * The base of a layer's errors that carry one detail besides the code, taken from the options
 * (a listener's address, a CONNACK return code, a file path), so callers read it typed:
 * `class BrokerError extends errorWithDetail<BrokerErrorCode, 'address', string>('address') {}`.
 */
export function errorWithDetail<C extends string, K extends string, V>(key: K): DetailedErrorClass<C, K, V> {
  class WithDetail extends MqttSnError {
    declare readonly code: C;

    constructor(code: C, message: string, options?: DetailOptions<K, V>) {
      super(code, message, options);
      (this as unknown as Record<K, V | undefined>)[key] = options?.[key];
    }
  }
  return WithDetail as DetailedErrorClass<C, K, V>;
}

/** Stable codes of the codec. */
export const CodecErrorCode = {
  TRUNCATED: 'MQTTSN_ERR_TRUNCATED',
  LENGTH_MISMATCH: 'MQTTSN_ERR_LENGTH_MISMATCH',
  UNKNOWN_TYPE: 'MQTTSN_ERR_UNKNOWN_TYPE',
  BAD_FLAGS: 'MQTTSN_ERR_BAD_FLAGS',
  BAD_FIELD: 'MQTTSN_ERR_BAD_FIELD',
  /** encode only: a message id (1.2 MsgId, 2.0 Packet Identifier) of 0 where the message needs one */
  BAD_MSG_ID: 'MQTTSN_ERR_BAD_MSG_ID',
  /** encode only: a topic id or short topic name that cannot be sent */
  BAD_TOPIC: 'MQTTSN_ERR_BAD_TOPIC',
  /** encode only: the message would exceed 65535 bytes */
  TOO_LARGE: 'MQTTSN_ERR_TOO_LARGE',
  /**
   * decode only: a frame that may be valid but needs knowledge the codec does not have (2.0: a
   * Protection Encapsulation whose tag length its provider defines)
   */
  UNSUPPORTED: 'MQTTSN_ERR_UNSUPPORTED',
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
    // Returned for every malformed frame and never thrown, so nobody reads its stack; capturing
    // one was nine tenths of the cost of decoding garbage (a flood of it decoded 9x faster without).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, message);
    } finally {
      Error.stackTraceLimit = limit;
    }
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
  /** the serial line takes bytes slower than they come: the write buffer is full, the frame is shed */
  WRITE_BUFFER_FULL: 'MQTTSN_ERR_WRITE_BUFFER_FULL',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends MqttSnError {
  declare readonly code: TransportErrorCode;
}

/** Stable codes of the config layer. */
export const ConfigErrorCode = {
  /** the configuration could not be read or is invalid; see `issues` */
  INVALID: 'MQTTSN_ERR_CONFIG',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** Stable codes of the operations layer (HTTP server). */
export const ObservabilityErrorCode = {
  /** the HTTP server could not be bound (address in use, not available, no permission) */
  HTTP_LISTEN_FAILED: 'MQTTSN_ERR_HTTP_LISTEN_FAILED',
} as const;
export type ObservabilityErrorCode = (typeof ObservabilityErrorCode)[keyof typeof ObservabilityErrorCode];

/** Stable codes of the topic layer. */
export const TopicErrorCode = {
  /** an entry of the predefined topic table is invalid or repeated */
  BAD_PREDEFINED_TOPIC: 'MQTTSN_ERR_BAD_PREDEFINED_TOPIC',
  /** a topic filter that MQTT 3.1.1 §4.7 does not allow was given where a valid one is required */
  BAD_TOPIC_FILTER: 'MQTTSN_ERR_BAD_TOPIC_FILTER',
  /** a registry limit outside 0..65534 */
  BAD_LIMIT: 'MQTTSN_ERR_BAD_LIMIT',
} as const;
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode];

/** Stable codes of the broker core. */
export const BrokerErrorCode = {
  /** a TCP listener could not be bound (address in use, not available, no permission) */
  LISTEN_FAILED: 'MQTTSN_ERR_LISTEN_FAILED',
  /** a topic filter that MQTT 3.1.1 §4.7 does not allow */
  BAD_TOPIC_FILTER: 'MQTTSN_ERR_BAD_TOPIC_FILTER',
  /** aedes refused a publish (e.g. more than 100 topic levels) */
  PUBLISH_FAILED: 'MQTTSN_ERR_PUBLISH_FAILED',
  /** the broker core is closed */
  CLOSED: 'MQTTSN_ERR_BROKER_CLOSED',
} as const;
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

/** Stable codes of the store. */
export const StoreErrorCode = {
  /** the file cannot be opened or created: missing folder, no permission, a directory */
  OPEN_FAILED: 'MQTTSN_ERR_STORE_OPEN_FAILED',
  /** the file is not a SQLite database, or SQLite finds it damaged */
  CORRUPT: 'MQTTSN_ERR_STORE_CORRUPT',
  /** a SQLite database, but not one of ours: another program's tables */
  FOREIGN: 'MQTTSN_ERR_STORE_FOREIGN',
  /** our database, written by a newer gateway whose schema this one does not know */
  TOO_NEW: 'MQTTSN_ERR_STORE_TOO_NEW',
  /** another process (another gateway?) has the file open */
  LOCKED: 'MQTTSN_ERR_STORE_LOCKED',
  /** a batch of writes could not be committed (disk full, I/O error): nothing in it is durable */
  WRITE_FAILED: 'MQTTSN_ERR_STORE_WRITE_FAILED',
  /** the store was used after close() */
  CLOSED: 'MQTTSN_ERR_STORE_CLOSED',
  /** the file (or its WAL) at the store's path was deleted or replaced while open: writes go nowhere a restart finds */
  GONE: 'MQTTSN_ERR_STORE_GONE',
  /** an fsync failed: what the OS held may never reach the disk, and a retry cannot tell; only a restart is safe */
  SYNC_FAILED: 'MQTTSN_ERR_STORE_SYNC_FAILED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** Stable codes of the upstream bridge. */
export const BridgeErrorCode = {
  /** the upstream broker cannot be reached: refused, no route, name not found, timed out */
  UNREACHABLE: 'MQTTSN_ERR_UPSTREAM_UNREACHABLE',
  /** the TLS handshake failed: certificate not trusted, wrong host name, client certificate refused */
  TLS: 'MQTTSN_ERR_UPSTREAM_TLS',
  /** the broker answered CONNACK with a refusal (bad user name or password, not authorized, ...) */
  REFUSED: 'MQTTSN_ERR_UPSTREAM_REFUSED',
  /** an established connection ended: closed by the broker, keep-alive timeout, network error */
  LOST: 'MQTTSN_ERR_UPSTREAM_LOST',
  /** the upstream broker sent a packet over `upstream.maxPacketBytes`; the connection was closed */
  PACKET_TOO_LARGE: 'MQTTSN_ERR_UPSTREAM_PACKET_TOO_LARGE',
  /** the bridge was used after close() */
  CLOSED: 'MQTTSN_ERR_BRIDGE_CLOSED',
} as const;
export type BridgeErrorCode = (typeof BridgeErrorCode)[keyof typeof BridgeErrorCode];
