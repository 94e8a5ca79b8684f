/**
 * A firmware-sim node whose link checks every frame the gateway sends it against the node's own
 * MQTT-SN version: it must decode with that version's codec (not the other's) and be a packet a
 * gateway sends. A 1.2 frame read as 2.0 (or the reverse) either fails to decode or is a type a
 * gateway never sends (1.2 PUBLISH 0x0C is 2.0's PINGREQ, 1.2 CONNACK 0x05 a 2.0 PUBREC too short
 * for its Packet Identifier), so the two checks together catch a frame of the wrong version.
 */
import { SimNode, type Link, type SimMessage, type SimNodeOptions } from '../../firmware-sim/index.js';
import type { ProtocolVersion } from '../../firmware-sim/node-types.js';
import { decode, DecodeError } from '../../src/codec/index.js';
import * as v2 from '../../src/codec/v2/index.js';

/** What a gateway sends a 1.2 client (MQTT-SN 1.2 §5.2). */
const FROM_GATEWAY_12 = new Set<string>([
  'ADVERTISE', 'GWINFO', 'CONNACK', 'WILLTOPICREQ', 'WILLMSGREQ', 'REGISTER', 'REGACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
  'SUBACK', 'UNSUBACK', 'PINGRESP', 'DISCONNECT', 'WILLTOPICRESP', 'WILLMSGRESP',
]);
/** What a server sends a 2.0 client [Fig 2-4]. */
const FROM_GATEWAY_20 = new Set<string>([
  'ADVERTISE', 'GWINFO', 'CONNACK', 'AUTH', 'REGISTER', 'REGACK', 'PUBLISH', 'PUBWOS', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
  'SUBACK', 'UNSUBACK', 'PINGRESP', 'DISCONNECT', 'SLEEPRESP', 'WAKEUP',
]);

/** The frames a strict link refused, as `hex: why`; a test asserts it stays empty. */
export type Strays = string[];

/** `link` with every incoming frame checked against `version`; refusals go to `strays` (and still to the node). */
export function strictLink(link: Link, version: ProtocolVersion, strays: Strays): Link {
  const check = (frame: Buffer): void => {
    const p = version === '2' ? v2.decode(frame) : decode(frame);
    if (p instanceof DecodeError) strays.push(`${frame.toString('hex')}: not ${version === '2' ? '2.0' : '1.2'} (${p.code})`);
    else if (!(version === '2' ? FROM_GATEWAY_20 : FROM_GATEWAY_12).has(p.type)) strays.push(`${frame.toString('hex')}: ${p.type} is not sent by a gateway`);
  };
  return {
    name: link.name,
    send: (frame) => link.send(frame),
    onFrame: (cb) =>
      link.onFrame((frame, from) => {
        check(frame);
        cb(frame, from);
      }),
    close: () => link.close(),
  };
}

export interface StrictNode {
  node: SimNode;
  /** frames of the other version (must stay empty) */
  strays: Strays;
  /** what the node delivered to its application */
  got: SimMessage[];
}

/** A node of `protocol` on `link`, its frames checked, its messages recorded. */
export function strictNode(link: Link, protocol: ProtocolVersion, options: Omit<SimNodeOptions, 'link' | 'protocol'>): StrictNode {
  const strays: Strays = [];
  const node = new SimNode({ retryMs: 1000, reconnect: false, ...options, protocol, link: strictLink(link, protocol, strays) });
  const got: SimMessage[] = [];
  node.on('message', (m) => got.push(m));
  return { node, strays, got };
}
