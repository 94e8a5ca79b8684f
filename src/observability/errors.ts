import { MqttSnError, ObservabilityErrorCode } from '../errors.js';

export { ObservabilityErrorCode };

export class ObservabilityError extends MqttSnError {
  declare readonly code: ObservabilityErrorCode;
}
