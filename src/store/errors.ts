import { MqttSnError, StoreErrorCode } from '../errors.js';

export { StoreErrorCode };

export class StoreError extends MqttSnError {
  declare readonly code: StoreErrorCode;
  /** the database file concerned */
  readonly path: string | undefined;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    // The code goes into the text too: the CLI prints one line, and the code is what to search for.
    super(code, `${message} (${code})`, options);
    this.path = options?.path;
  }
}
