/**
 * The node's will (MQTT-SN.md §4.3, §4.4): the answers to the gateway's WILLTOPICREQ and
 * WILLMSGREQ during CONNECT, and the WILLTOPICUPD / WILLMSGUPD conversation of a connected node.
 */
import { encode, ReturnCode, type Packet, type SubQoS } from '../src/codec/index.js';
import type { Verdict } from '../src/waitress.js';
import { rcError } from './errors.js';
import type { Will } from './node-types.js';
import { toBuffer } from './publish.js';
import { answerTo } from './requests.js';
import type { VerbHost } from './verb-host.js';

/** The will topic fields of WILLTOPIC and WILLTOPICUPD; no will is the empty topic (§2.2, §4.3). */
function willTopic(will: Will | undefined): { qos: SubQoS; retain: boolean; willTopic: string | null } {
  return will ? { qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic } : { qos: 0, retain: false, willTopic: null };
}

/** What CONNECT accepts: CONNACK ends it, the will requests move it on (§4.3). */
export function connectAnswer(will: Will | undefined): (a: { packet: Packet }) => Verdict<Buffer> {
  return ({ packet: p }) => {
    switch (p.type) {
      case 'CONNACK':
        return true;
      case 'WILLTOPICREQ':
        // Without a will of our own the empty WILLTOPIC says "none" (§4.3).
        return { next: encode({ type: 'WILLTOPIC', ...willTopic(will) }) };
      case 'WILLMSGREQ':
        return { next: encode({ type: 'WILLMSG', willMsg: toBuffer(will?.payload) }) };
      // Anything else is no answer to a CONNECT.
      case 'ADVERTISE':
      case 'CONNECT':
      case 'DISCONNECT':
      case 'ENCAPSULATED':
      case 'GWINFO':
      case 'PINGREQ':
      case 'PINGRESP':
      case 'PUBACK':
      case 'PUBCOMP':
      case 'PUBLISH':
      case 'PUBREC':
      case 'PUBREL':
      case 'REGACK':
      case 'REGISTER':
      case 'SEARCHGW':
      case 'SUBACK':
      case 'SUBSCRIBE':
      case 'UNSUBACK':
      case 'UNSUBSCRIBE':
      case 'WILLMSG':
      case 'WILLMSGRESP':
      case 'WILLMSGUPD':
      case 'WILLTOPIC':
      case 'WILLTOPICRESP':
      case 'WILLTOPICUPD':
        return false;
    }
  };
}

/** WILLTOPICUPD, then WILLMSGUPD when there is a will; `null` deletes the will (§4.4). */
export async function updateWill(host: VerbHost, will: Will | null): Promise<void> {
  host.requireState(['active'], 'updateWill');
  const { packet: topic } = await host.requests.exchange({
    kind: 'willupdate',
    packet: { type: 'WILLTOPICUPD', ...willTopic(will ?? undefined) },
    accept: answerTo('WILLTOPICRESP'),
  });
  if (topic.type === 'WILLTOPICRESP' && topic.returnCode !== ReturnCode.ACCEPTED) throw rcError('WILLTOPICUPD', topic.returnCode);
  if (!will) return;
  const { packet: msg } = await host.requests.exchange({
    kind: 'willupdate',
    packet: { type: 'WILLMSGUPD', willMsg: toBuffer(will.payload) },
    accept: answerTo('WILLMSGRESP'),
  });
  if (msg.type === 'WILLMSGRESP' && msg.returnCode !== ReturnCode.ACCEPTED) throw rcError('WILLMSGUPD', msg.returnCode);
}
