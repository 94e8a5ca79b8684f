/**
 * A responder for runs that mix MQTT-SN 1.2 and 2.0 nodes until the gateway core speaks 2.0: one
 * UDP socket on 127.0.0.1 that tells the versions apart per peer with the project's demultiplexer
 * (MQTT-SN-2.0.md §7) and answers every request in the peer's version with success, as a gateway
 * would (aliases counted up, the 1.2 will dance, sleep answered). No routing, no store, no
 * retries: it proves what each node said and that the node took the answers, not delivery.
 */
import dgram from 'node:dgram';
import { decode, demultiplex, encode, v2, DecodeError, type Packet, type SnVersion } from '../../src/codec/index.js';

export interface Heard {
  peer: string;
  version: SnVersion;
  packet: Packet | v2.Packet;
}

export class DualResponder {
  readonly socket = dgram.createSocket('udp4');
  port = 0;
  /** every packet read, with its sender's version */
  readonly heard: Heard[] = [];
  /** datagrams neither version could read (what misbehaving nodes send) */
  undecodable = 0;
  readonly #versions = new Map<string, SnVersion>();
  #alias = 0;

  static async start(): Promise<DualResponder> {
    const r = new DualResponder();
    r.socket.on('message', (frame, rinfo) => r.#onMessage(frame, rinfo));
    await new Promise<void>((resolve) => r.socket.bind(0, '127.0.0.1', resolve));
    r.port = r.socket.address().port;
    return r;
  }

  get url(): string {
    return `udp://127.0.0.1:${this.port}`;
  }

  /** packets of `type` heard from 1.2 peers */
  of12<T extends Packet['type']>(type: T): Array<Extract<Packet, { type: T }>> {
    return this.heard.filter((h) => h.version === '1.2' && h.packet.type === type).map((h) => h.packet as Extract<Packet, { type: T }>);
  }

  /** packets of `type` heard from 2.0 peers */
  of2<T extends v2.Packet['type']>(type: T): Array<Extract<v2.Packet, { type: T }>> {
    return this.heard.filter((h) => h.version === '2.0' && h.packet.type === type).map((h) => h.packet as Extract<v2.Packet, { type: T }>);
  }

  /** peers that spoke each version */
  peers(version: SnVersion): Set<string> {
    return new Set(this.heard.filter((h) => h.version === version).map((h) => h.peer));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  #onMessage(frame: Buffer, rinfo: dgram.RemoteInfo): void {
    const peer = `${rinfo.address}:${rinfo.port}`;
    const { version } = demultiplex(frame, { session: this.#versions.get(peer) });
    const packet = version === '1.2' ? decode(frame) : v2.decode(frame);
    if (packet instanceof DecodeError) {
      this.undecodable++;
      return;
    }
    this.heard.push({ peer, version, packet });
    const reply = (out: Buffer): void => this.socket.send(out, rinfo.port, rinfo.address);
    if (version === '1.2') {
      const p = packet as Packet;
      if (p.type === 'CONNECT') this.#versions.set(peer, '1.2');
      const answer = this.#answer12(p);
      if (answer) reply(encode(answer));
    } else {
      const p = packet as v2.Packet;
      if (p.type === 'CONNECT') this.#versions.set(peer, '2.0');
      const answer = this.#answer2(p);
      if (answer) reply(v2.encode(answer));
    }
  }

  #answer12(p: Packet): Packet | undefined {
    switch (p.type) {
      case 'CONNECT':
        return p.will ? { type: 'WILLTOPICREQ' } : { type: 'CONNACK', returnCode: 0 };
      case 'WILLTOPIC':
        return { type: 'WILLMSGREQ' };
      case 'WILLMSG':
        return { type: 'CONNACK', returnCode: 0 };
      case 'REGISTER':
        return { type: 'REGACK', topicId: ++this.#alias, msgId: p.msgId, returnCode: 0 };
      case 'PUBLISH':
        if (p.qos === 1) return { type: 'PUBACK', topicId: p.topicIdType === 'normal' || p.topicIdType === 'predefined' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 };
        return p.qos === 2 ? { type: 'PUBREC', msgId: p.msgId } : undefined;
      case 'PUBREL':
        return { type: 'PUBCOMP', msgId: p.msgId };
      case 'SUBSCRIBE':
        return { type: 'SUBACK', qos: p.qos === -1 ? 0 : p.qos, topicId: 0, msgId: p.msgId, returnCode: 0 };
      case 'UNSUBSCRIBE':
        return { type: 'UNSUBACK', msgId: p.msgId };
      case 'PINGREQ':
        return { type: 'PINGRESP' };
      case 'DISCONNECT':
        // §4.12: sleeping and leaving are both answered by DISCONNECT.
        return { type: 'DISCONNECT' };
      case 'SEARCHGW':
        return { type: 'GWINFO', gwId: 1 };
      default:
        return undefined;
    }
  }

  #answer2(p: v2.Packet): v2.Packet | undefined {
    switch (p.type) {
      case 'CONNECT':
        return { type: 'CONNACK', sessionPresent: false, packetId: p.packetId, reasonCode: p.protocolVersion === v2.PROTOCOL_VERSION ? 0 : v2.ReasonCode.UNSUPPORTED_PROTOCOL_VERSION };
      case 'REGISTER':
        return { type: 'REGACK', topicType: 'session', packetId: p.packetId, topicAlias: ++this.#alias, reasonCode: 0 };
      case 'PUBLISH':
        if (p.qos === 1) return { type: 'PUBACK', packetId: p.packetId! };
        return p.qos === 2 ? { type: 'PUBREC', packetId: p.packetId! } : undefined;
      case 'PUBREL':
        return { type: 'PUBCOMP', packetId: p.packetId };
      case 'SUBSCRIBE': {
        // MQTT-SN-4.7.2.2-2/-3: an alias for a wildcard-free filter, none (type 01) for a wildcard.
        const wildcard = p.topicType === 'filter' && /[+#]/.test(p.topicFilter);
        return wildcard || p.topicType !== 'filter'
          ? { type: 'SUBACK', topicType: 'predefined', packetId: p.packetId, reasonCode: p.qos }
          : { type: 'SUBACK', topicType: 'session', packetId: p.packetId, topicAlias: ++this.#alias, reasonCode: p.qos };
      }
      case 'UNSUBSCRIBE':
        return { type: 'UNSUBACK', packetId: p.packetId };
      case 'PINGREQ':
        return { type: 'PINGRESP', packetId: p.packetId };
      case 'SLEEPREQ':
        return { type: 'SLEEPRESP', packetId: p.packetId };
      case 'SEARCHGW':
        return { type: 'GWINFO', gatewayId: 1 };
      default:
        // DISCONNECT is never answered [3.13]; PUBWOS needs no answer [3.6.1].
        return undefined;
    }
  }
}
