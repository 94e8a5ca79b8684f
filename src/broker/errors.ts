import { BrokerErrorCode, errorWithDetail } from '../errors.js';

export { BrokerErrorCode };

/** `address`: `host:port` of the listener, for `MQTTSN_ERR_LISTEN_FAILED`. */
export class BrokerError extends errorWithDetail<BrokerErrorCode, 'address', string>('address') {}
