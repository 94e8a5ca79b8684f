import { MqttSnError } from '../errors.js';

/**
 * Stable codes of the broker core. They live here until they move into `src/errors.ts` beside the
 * codes of the other layers.
 */
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

export class BrokerError extends MqttSnError {
  declare readonly code: BrokerErrorCode;
  /** `host:port` of the listener, for `MQTTSN_ERR_LISTEN_FAILED` */
  readonly address: string | undefined;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown; address?: string }) {
    super(code, message, options);
    this.address = options?.address;
  }
}
