/** Writes the JSON Schema file; the build calls it so the schema always matches the code. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { configJsonSchema } from './json-schema.js';

/** Default location, the one `gateway.config.json` points its `$schema` at. */
export const CONFIG_SCHEMA_PATH = 'dist/gateway.config.schema.json';

export async function writeConfigSchema(path: string = CONFIG_SCHEMA_PATH): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}
