/**
 * Which codec reads a datagram when MQTT-SN 1.2 and 2.0 share one endpoint. Pure: the caller says
 * what it knows of the sender, this says which decoder applies and by which rule.
 *
 * The draft leaves telling the versions apart to the implementation (AMBIG-14); the rules are the
 * reference's (MQTT-SN-2.0.md §7):
 * 1. A sender with a Virtual Connection (or one being set up) is read in that VC's version only,
 *    except that a CONNECT of the other version may switch it ("a new CONNECT may switch it").
 * 2. A sender without one is classified by type byte and length, row by row:
 *
 * | type | 2.0 | 1.2 | decided by |
 * |---|---|---|---|
 * | 0x01 | CONNECT (>= 10 bytes) | SEARCHGW (3 bytes) | length |
 * | 0x04 | PUBACK, needs a VC | CONNECT | 1.2 |
 * | 0x0C | PINGREQ (4 bytes) | PUBLISH QoS -1 (>= 7 bytes) | length |
 * | 0x00, 0x02 | reserved, CONNACK | ADVERTISE, GWINFO | 1.2 |
 * | 0x12 | PUBWOS | SUBSCRIBE, needs a VC | 2.0 |
 * | 0x16-0x18 | ADVERTISE, SEARCHGW, GWINFO | PINGREQ, PINGRESP, DISCONNECT | a sleeping 1.2 client's wake-up PINGREQ, else 2.0 |
 * | 0xFC | Forwarder Encapsulation | - | 2.0 |
 * | 0xFE | Connection Encapsulation | Forwarder Encapsulation | Length == datagram: 2.0; Length < datagram: 1.2 |
 * | 0xFF | Protection Encapsulation | - | 2.0 |
 *
 * A row's version stands unless its decoder refuses the datagram and the other version's accepts
 * it: the table says which reading is likely, not that an impossible one wins.
 *
 * Types outside the table need a VC in both versions, so nothing legitimate is lost whichever
 * codec reads them. They go to the one version whose decoder accepts the datagram, and to 1.2
 * when both or neither do: a 1.2 client that lost its session is then treated as a 1.2-only
 * gateway treated it. An encapsulated packet is demultiplexed in turn by the caller, with what it
 * knows of the node behind the forwarder.
 */
import { decode as decode12 } from './decode.js';
import { DecodeError } from '../errors.js';
import { decode as decode20 } from './v2/decode.js';

export type SnVersion = '1.2' | '2.0';

/** What the gateway knows of the sender of a datagram. */
export interface SenderKnowledge {
  /** the version of the sender's Virtual Connection (or the one being set up); absent for none */
  session?: SnVersion;
  /**
   * Is a 1.2 client with this Client Id asleep? A 1.2 sleeper wakes with PINGREQ + Client Id from
   * any address (MQTT-SN 1.2 §6.14), which collides with a 2.0 ADVERTISE. Absent: none is.
   */
  isSleeping12Client?: (clientId: string) => boolean;
}

/** The rule that decided, for a log line and for tests that check every row is reached. */
export type DemuxRule =
  /** rule 1: the sender's VC version */
  | 'session'
  /** rule 1: a CONNECT of the other version from a sender with a VC */
  | 'switching-connect'
  /** 0x01: 2.0 CONNECT or 1.2 SEARCHGW, by length */
  | 'connect-or-searchgw'
  /** 0x04: 1.2 CONNECT */
  | 'v12-connect'
  /** 0x0C: 2.0 PINGREQ or 1.2 PUBLISH, by length */
  | 'pingreq-or-publish'
  /** 0x00, 0x02: 1.2 ADVERTISE, GWINFO */
  | 'v12-discovery'
  /** 0x12: 2.0 PUBWOS */
  | 'pubwos'
  /** 0x16: a 1.2 sleeper's wake-up PINGREQ */
  | 'sleeping-v12-pingreq'
  /** 0x16-0x18: 2.0 ADVERTISE, SEARCHGW, GWINFO */
  | 'v20-discovery'
  /** a table row's version cannot read the datagram and the other can */
  | 'only-other-reads'
  /** 0xFC, 0xFF: 2.0 Forwarder and Protection Encapsulation */
  | 'v20-encapsulation'
  /** 0xFE: by Length against the datagram size */
  | 'fe-by-length'
  /** outside the table: the version whose decoder accepts it */
  | 'decodable'
  /** no readable header: 1.2, whose path counts malformed input today */
  | 'unreadable';

export interface DemuxVerdict {
  version: SnVersion;
  rule: DemuxRule;
}

const verdict = (version: SnVersion, rule: DemuxRule): DemuxVerdict => ({ version, rule });

/** The type byte, how many bytes follow it, and whether the 3-byte Length form is used. */
interface Peek {
  type: number;
  body: number;
  longForm: boolean;
}

/** Undefined when there is no header to read. */
function header(b: Buffer): Peek | undefined {
  if (b.length < 2) return undefined;
  const at = b[0] === 0x01 ? 3 : 1;
  if (b.length <= at) return undefined;
  return { type: b[at]!, body: b.length - at - 1, longForm: at === 3 };
}

/** A 2.0 CONNECT has at least 8 bytes after the type (Fig 3-1); a 1.2 SEARCHGW exactly 1, its Radius. */
const isV20Connect = (type: number, body: number): boolean => type === 0x01 && body >= 8;
/** A 1.2 CONNECT has at least Flags, ProtocolId and Duration (4 bytes); a 2.0 PUBACK at most 3. */
const isV12Connect = (type: number, body: number): boolean => type === 0x04 && body >= 4;

const other = (v: SnVersion): SnVersion => (v === '1.2' ? '2.0' : '1.2');
const accepts = (v: SnVersion, b: Buffer): boolean => !((v === '1.2' ? decode12(b) : decode20(b)) instanceof DecodeError);

/** Which codec reads `datagram` (see the module comment for the rules). */
export function demultiplex(datagram: Buffer, sender: SenderKnowledge = {}): DemuxVerdict {
  const h = header(datagram);
  if (sender.session !== undefined) {
    const switching = h !== undefined && (sender.session === '1.2' ? isV20Connect(h.type, h.body) : isV12Connect(h.type, h.body));
    return switching ? verdict(other(sender.session), 'switching-connect') : verdict(sender.session, 'session');
  }
  if (h === undefined) return verdict('1.2', 'unreadable');
  const row = tableRow(datagram, h, sender);
  if (row.rule === 'decodable' || row.rule === 'fe-by-length' || row.rule === 'sleeping-v12-pingreq') return row;
  // The row names what a stranger's datagram most likely is. When only the other version can read
  // it, it is the other's: a 1.2 client the gateway lost (`02 16` keep-alive, `02 18` DISCONNECT,
  // a SUBSCRIBE) is still told to CONNECT again (MQTT-SN 1.2 §4.1), and a 2.0 client's PUBACK may
  // be answered DISCONNECT 0xF4 [3.13], instead of a drop as malformed.
  if (!accepts(row.version, datagram) && accepts(other(row.version), datagram)) return verdict(other(row.version), 'only-other-reads');
  return row;
}

/** Rule 2: the reference's table for a sender without a VC, row by row. */
function tableRow(datagram: Buffer, h: Peek, sender: SenderKnowledge): DemuxVerdict {
  switch (h.type) {
    case 0x01:
      // Neither a 1-byte body nor 8 or more: malformed in both; 2.0 counts it.
      return verdict(h.body === 1 ? '1.2' : '2.0', 'connect-or-searchgw');
    case 0x04:
      return verdict('1.2', 'v12-connect');
    case 0x0c:
      // A 2.0 PINGREQ is a Packet Identifier and nothing else; anything longer is a 1.2 PUBLISH
      // (QoS -1 being the one a stranger may send; others get the 1.2 gateway's answer as before).
      return verdict(h.body === 2 ? '2.0' : '1.2', 'pingreq-or-publish');
    case 0x00:
    case 0x02:
      return verdict('1.2', 'v12-discovery');
    case 0x12:
      return verdict('2.0', 'pubwos');
    case 0x16:
      if (h.body > 0 && sender.isSleeping12Client !== undefined && accepts('1.2', datagram)) {
        if (sender.isSleeping12Client(datagram.toString('utf8', datagram.length - h.body))) return verdict('1.2', 'sleeping-v12-pingreq');
      }
      return verdict('2.0', 'v20-discovery');
    case 0x17:
    case 0x18:
      // 1.2 PINGRESP is the gateway's to send; 1.2 DISCONNECT carries no Client Id to place a sleeper by.
      return verdict('2.0', 'v20-discovery');
    case 0xfc:
    case 0xff:
      return verdict('2.0', 'v20-encapsulation');
    case 0xfe:
      // AMBIG-2: 1.2's forwarder Length counts its header only, 2.0's Connection Encapsulation the
      // whole packet. 1.2 never uses the 3-byte form for it (MQTT-SN 1.2 §5.5).
      return verdict(!h.longForm && datagram[0]! < datagram.length ? '1.2' : '2.0', 'fe-by-length');
    default:
      // 1.2 first: when it accepts, 1.2 keeps the datagram whatever 2.0 says, and one decode is spared.
      return verdict(accepts('1.2', datagram) || !accepts('2.0', datagram) ? '1.2' : '2.0', 'decodable');
  }
}
