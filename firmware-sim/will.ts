/**
 * The node's will update (MQTT-SN.md §4.4): WILLTOPICUPD / WILLMSGUPD of a connected 1.2 node.
 * The will given at CONNECT travels as the node's version says (wire/v12.ts: the WILLTOPICREQ /
 * WILLMSGREQ dance; wire/v2.ts: inside CONNECT); a 2.0 node has no update and is told so.
 */
import { rcError } from './errors.js';
import type { Will } from './node-types.js';
import { toBuffer } from './publish.js';
import type { VerbHost } from './verb-host.js';

/** WILLTOPICUPD, then WILLMSGUPD when there is a will; `null` deletes the will (§4.4). */
export async function updateWill(host: VerbHost, will: Will | null): Promise<void> {
  host.requireState(['active'], 'updateWill');
  const { packet: topic } = await host.requests.exchange({
    kind: 'willupdate',
    packet: { type: 'WILLTOPICUPD', will: will ?? undefined },
  });
  if (topic.type === 'WILLTOPICRESP' && topic.result.meaning !== 'accepted') throw rcError('WILLTOPICUPD', topic.result);
  if (!will) return;
  const { packet: msg } = await host.requests.exchange({
    kind: 'willupdate',
    packet: { type: 'WILLMSGUPD', payload: toBuffer(will.payload) },
  });
  if (msg.type === 'WILLMSGRESP' && msg.result.meaning !== 'accepted') throw rcError('WILLMSGUPD', msg.result);
}
