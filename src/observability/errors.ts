import { MqttSnError } from '../errors.js';

/** Stable codes of the operations layer (kept here until they move into src/errors.ts). */
export const ObservabilityErrorCode = {
  /** the HTTP server could not be bound (address in use, not available, no permission) */
  HTTP_LISTEN_FAILED: 'MQTTSN_ERR_HTTP_LISTEN_FAILED',
} as const;
export type ObservabilityErrorCode = (typeof ObservabilityErrorCode)[keyof typeof ObservabilityErrorCode];

export class ObservabilityError extends MqttSnError {
  declare readonly code: ObservabilityErrorCode;
}
