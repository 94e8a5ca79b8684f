/**
 * Topic names and topic filters as MQTT 3.1.1 defines them (§4.7), which MQTT-SN v1.2 reuses for
 * every full topic name it carries (MQTT-SN.md §4.5-4.9). Validators return a short reason, not
 * an error: a bad topic from a device is ordinary traffic that gets a return code, not an
 * exception.
 */

/** §1.5.3: a UTF-8 encoded string is at most 65535 bytes. */
export const MAX_TOPIC_BYTES = 0xffff;

const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const SLASH = 0x2f; // '/'

/**
 * One pass over the UTF-16 code units: rejects U+0000 and unpaired surrogates (§1.5.3 forbids
 * both; an unpaired surrogate has no UTF-8 encoding), checks the wildcard rules when `filter`
 * is set, and counts UTF-8 bytes on the way instead of encoding the string.
 */
function check(s: string, filter: boolean): string | undefined {
  const n = s.length;
  // §4.7.3: names and filters are at least one character long.
  if (n === 0) return 'empty';
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      bytes += 1;
      if (c === 0) return 'contains U+0000';
      if (c === PLUS) {
        if (!filter) return 'contains the wildcard +';
        // §4.7.1.3: '+' occupies an entire level.
        if ((i > 0 && s.charCodeAt(i - 1) !== SLASH) || (i + 1 < n && s.charCodeAt(i + 1) !== SLASH)) {
          return '+ must occupy a whole level';
        }
      } else if (c === HASH) {
        if (!filter) return 'contains the wildcard #';
        // §4.7.1.2: '#' is alone in its level and is the last character of the filter.
        if (i + 1 !== n) return '# must be the last level';
        if (i > 0 && s.charCodeAt(i - 1) !== SLASH) return '# must occupy a whole level';
      }
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return 'contains an unpaired surrogate';
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return 'contains an unpaired surrogate';
    } else {
      bytes += 3;
    }
  }
  if (bytes > MAX_TOPIC_BYTES) return `longer than ${MAX_TOPIC_BYTES} bytes in UTF-8`;
  return undefined;
}

/**
 * Why `name` cannot be a topic name (PUBLISH, REGISTER, Will topic), or `undefined` when it can:
 * non-empty, no wildcard characters (§4.7.1.1), no U+0000, well-formed, at most 65535 bytes.
 */
export function validateTopicName(name: string): string | undefined {
  return check(name, false);
}

/**
 * Why `filter` cannot be a topic filter (SUBSCRIBE, UNSUBSCRIBE), or `undefined` when it can:
 * the topic-name rules, with `+` allowed as a whole level and `#` as a whole last level.
 */
export function validateTopicFilter(filter: string): string | undefined {
  return check(filter, true);
}

/** Whether a string contains a wildcard character; says nothing about validity. */
export function hasWildcards(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

const DOLLAR = 0x24; // '$'

/**
 * Whether the topic name `topic` matches the valid topic filter `filter` (§4.7), for one-off
 * checks such as filtering retained messages; many filters against one topic is `TopicTrie`'s
 * job. Walks both strings level by level without splitting them.
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a topic starting with '$'.
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  const fn = filter.length;
  const tn = topic.length;
  let f = 0;
  let t = 0;
  for (;;) {
    // f and t are at the start of a level.
    const c = filter.charCodeAt(f);
    // §4.7.1.2: `#` matches the rest, however many levels, none included.
    if (c === HASH) return true;
    const topicEnd = topic.indexOf('/', t);
    const te = topicEnd === -1 ? tn : topicEnd;
    if (c === PLUS && (f + 1 === fn || filter.charCodeAt(f + 1) === SLASH)) {
      // §4.7.1.3: `+` matches exactly one level, an empty one included.
      f++;
    } else {
      const filterEnd = filter.indexOf('/', f);
      const fe = filterEnd === -1 ? fn : filterEnd;
      if (fe - f !== te - t) return false;
      for (let k = 0; k < fe - f; k++) if (filter.charCodeAt(f + k) !== topic.charCodeAt(t + k)) return false;
      f = fe;
    }
    t = te;
    // Both are now at a '/' or at their end.
    if (f === fn) return t === tn;
    // The topic ended first: only a last level `#` still matches (`a/#` matches `a`).
    if (t === tn) return f + 2 === fn && filter.charCodeAt(f + 1) === HASH;
    f++;
    t++;
  }
}
