/**
 * `npm run docs:config`: writes the configuration reference into README.md between its markers,
 * from the schema the gateway validates with. Run it after changing a key or a `.describe()` text;
 * test/config/reference-freshness.test.ts fails until the README matches.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configReference, spliceReference } from './reference.js';

/** README.md at the repository's root, wherever the script is run from (it runs from src/, with tsx). */
export const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url));

/** Rewrites the reference in `path`; says whether anything changed. */
export async function writeConfigReference(path: string = README_PATH): Promise<boolean> {
  const before = await readFile(path, 'utf8');
  const after = spliceReference(before, configReference());
  if (after !== before) await writeFile(path, after);
  return after !== before;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const changed = await writeConfigReference();
  console.log(changed ? `configuration reference written to ${README_PATH}` : 'configuration reference already up to date');
}
