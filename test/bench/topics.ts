/**
 * Topic-id churn: assigning a new name and freeing its id again with the id space all but full
 * (65533 of 65534 taken) against the same with 1000 taken. A ratio near 1 is what "O(1) per assignment" means; a scan of the
 * id space per assignment would show as a ratio of a few hundredths.
 */
import { MAX_TOPIC_ID, TopicRegistry } from '../../src/topics/registry.js';
import { measure, type Row } from './measure.js';

/** `size` ids taken, the counter past the last id: each call assigns a new name and frees its id again. */
function churn(size: number): () => void {
  const r = new TopicRegistry();
  for (let i = 1; i <= MAX_TOPIC_ID; i++) r.idFor(`t/${i}`);
  for (let i = size + 1; i <= MAX_TOPIC_ID; i++) r.delete(i);
  let name = 0;
  return () => {
    const id = r.idFor(`n/${name++}`);
    if (typeof id !== 'number' || !r.delete(id)) throw new Error(`no id was assigned (${String(id)})`);
  };
}

export function runTopicsBench(): Row[] {
  const small = measure(churn(1000));
  const full = measure(churn(MAX_TOPIC_ID - 1));
  return [{ name: `assign + delete with ${MAX_TOPIC_ID - 1} of ${MAX_TOPIC_ID} ids taken`, opsPerSec: full, baseline: 'same with 1000 taken', ratio: full / small, baselineOps: small }];
}
