/**
 * MQTT topic matching (3.1.1 §4.7) written as plainly as possible, level by level on split
 * strings: the reference the trie and the one-filter matcher are checked against.
 */
export function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
