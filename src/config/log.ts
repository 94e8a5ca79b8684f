/** The `log` section. */
import { z } from 'zod';
import { LOG_LEVELS } from './log-levels.js';

export { LOG_LEVELS, type LogLevel } from './log-levels.js';

export const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').describe('Least severe level written.'),
  })
  .prefault({})
  .describe('Logging.');
