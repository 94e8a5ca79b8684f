/**
 * Paths into the config as people write them in JavaScript: `transports[1].port`,
 * `predefinedTopics["1"]`. Numbers are array indices; a string key that is not an identifier
 * (a predefined topic id, a typo with a space) is quoted so it cannot be mistaken for one.
 */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `''` for the whole document. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** How a message names the object that holds a key: a path, or the top level. */
export function describeParent(path: readonly PathSegment[]): string {
  return path.length === 0 ? 'the top level' : formatPath(path);
}
