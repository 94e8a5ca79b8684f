import { MqttSnError, BrokerErrorCode } from '../errors.js';

export { BrokerErrorCode };

export class BrokerError extends MqttSnError {
  declare readonly code: BrokerErrorCode;
  /** `host:port` of the listener, for `MQTTSN_ERR_LISTEN_FAILED` */
  readonly address: string | undefined;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown; address?: string }) {
    super(code, message, options);
    this.address = options?.address;
  }
}
