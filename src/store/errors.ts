import { MqttSnError } from '../errors.js';

/** Stable codes of the store (kept here until they move into `src/errors.ts` with the others). */
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
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

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
