import { errorWithDetail, StoreErrorCode, type DetailOptions } from '../errors.js';

export { StoreErrorCode };

/** `path`: the database file concerned. */
export class StoreError extends errorWithDetail<StoreErrorCode, 'path', string>('path') {
  constructor(code: StoreErrorCode, message: string, options?: DetailOptions<'path', string>) {
    // The code goes into the text too: the CLI prints one line, and the code is what to search for.
    super(code, `${message} (${code})`, options);
  }
}
