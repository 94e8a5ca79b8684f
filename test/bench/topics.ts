/**
 * Topic-id churn: assigning a new name and freeing its id again with the id space all but full
 * (65533 of 65534 taken) against the same with 1000 taken. A ratio near 1 is what "O(1) per assignment" means; a scan of the
 * id space per assignment would show as a ratio of a few hundredths.
 *
 * Subscription matching: one topic against a trie of 3 filters per session for 100,000 sessions,
 * against the same for 100 sessions. A ratio near 1: the cost goes by depth, not by filters.
 */
import { TOPIC_ID_MAX } from '../../src/codec/constants.js';
import { TopicRegistry } from '../../src/topics/registry.js';
import { TopicTrie } from '../../src/topics/trie.js';
import { measure, type Row } from './measure.js';

/** `size` ids taken, the counter past the last id: each call assigns a new name and frees its id again. */
function churn(size: number): () => void {
  const r = new TopicRegistry();
  for (let i = 1; i <= TOPIC_ID_MAX; i++) r.idFor(`t/${i}`);
  for (let i = size + 1; i <= TOPIC_ID_MAX; i++) r.delete(i);
  let name = 0;
  return () => {
    const id = r.idFor(`n/${name++}`);
    if (typeof id !== 'number' || !r.delete(id)) throw new Error(`no id was assigned (${String(id)})`);
  };
}

/** A trie with 3 filters for each of `sessions` sessions; each call matches one session's command topic. */
function matching(sessions: number): () => void {
  const t = new TopicTrie<number>();
  for (let s = 0; s < sessions; s++) {
    t.add(`devices/${s}/cmd`, s);
    t.add(`devices/${s}/config/+`, s);
    t.add(`groups/${s % 100}/#`, s);
  }
  let i = 0;
  let found = 0;
  return () => {
    t.match(`devices/${i++ % sessions}/cmd`, () => found++);
    if (found !== i) throw new Error('a match found nothing');
  };
}

export function runTopicsBench(): Row[] {
  const fewSessions = measure(matching(100));
  const manySessions = measure(matching(100_000));
  const small = measure(churn(1000));
  const full = measure(churn(TOPIC_ID_MAX - 1));
  return [
    { name: 'match a topic among 300,000 filters', opsPerSec: manySessions, baseline: 'among 300 filters', ratio: manySessions / fewSessions, baselineOps: fewSessions },
    { name: `assign + delete with ${TOPIC_ID_MAX - 1} of ${TOPIC_ID_MAX} ids taken`, opsPerSec: full, baseline: 'same with 1000 taken', ratio: full / small, baselineOps: small },
  ];
}
