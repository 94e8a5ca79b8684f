/**
 * Authorisation of the gateway core: which client ids may connect and from which peers, who may
 * publish at QoS -1, and per-client publish / subscribe rights (ACL). Compiled once from the
 * options; every check is a pure function of (client id, peer key, topic).
 *
 * MQTT-SN 1.2 has no credentials (MQTT-SN.md §4.3: CONNECT carries only a client id), so the
 * peer a client speaks from is the only evidence the gateway has besides the id itself.
 */
import { BlockList, isIP } from 'node:net';
import { topicMatchesFilter } from '../topics/topic-names.js';

export interface AuthOptions {
  /** allow-list; absent: every client id may connect */
  clients?: ReadonlyArray<{ clientId: string; peers?: readonly string[] | undefined }> | undefined;
  qosMinusOne: {
    /** absent: "all" without an ACL; with one, none for a sender without a session (its ACL decides for one with) */
    topics?: 'all' | readonly number[] | undefined;
    /** absent: true without an ACL; with one, false for a sender without a session */
    shortTopics?: boolean | undefined;
    peers?: readonly string[] | undefined;
    /** whether QoS -1 may set or clear retained messages; absent: no */
    retain?: boolean | undefined;
  };
  /** absent: everything allowed; present: a client no rule matches may do nothing */
  acl?: ReadonlyArray<{ clientId: string; publish: readonly string[]; subscribe: readonly string[] }> | undefined;
  takeover: 'allow' | 'deny';
}

export type ConnectVerdict = 'ok' | 'unknownClient' | 'wrongPeer';

type PeerMatcher = (peerKey: string) => boolean;

const CIDR = /^udp:\[?([0-9A-Fa-f:.]+)\]?\/(\d{1,3})$/;

/**
 * The UDP source address in a peer key (`udp:1.2.3.4:5`, `udp:[::1]:5`): behind a forwarder the
 * forwarder's (`udp:1.2.3.4:5/fwd:<node id>`, the node id is opaque), behind a trusted front end
 * the device's own (`udp:<device>:<port>/fe:<front end>:<port>`, the transport read it from the
 * node id).
 */
export function udpAddressOf(peerKey: string): string | undefined {
  if (!peerKey.startsWith('udp:')) return undefined;
  // An address and port hold no `/`: the first one starts the forwarder or front-end part.
  const slash = peerKey.indexOf('/');
  const hostPort = peerKey.slice(4, slash === -1 ? undefined : slash);
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    return end === -1 ? undefined : stripZone(hostPort.slice(1, end));
  }
  const colon = hostPort.lastIndexOf(':');
  return colon === -1 ? undefined : hostPort.slice(0, colon);
}

function stripZone(a: string): string {
  const i = a.indexOf('%');
  return i === -1 ? a : a.slice(0, i);
}

/** `*` matches any characters (`/` included); everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

/** A peer pattern as configured: a UDP CIDR block, or a glob on the peer key. */
export function compilePeerPattern(pattern: string): PeerMatcher {
  const m = CIDR.exec(pattern);
  const family = m === null ? 0 : isIP(m[1]!);
  if (m !== null && family !== 0) {
    const list = new BlockList();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(m[1]!, Number(m[2]), type);
    return (key) => {
      const addr = udpAddressOf(key);
      if (addr === undefined) return false;
      const f = isIP(addr);
      if (f === 0) return false;
      // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; an IPv4 block must still match them.
      if (f === 6 && type === 'ipv4') {
        const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1];
        return v4 !== undefined && list.check(v4, 'ipv4');
      }
      return list.check(addr, f === 4 ? 'ipv4' : 'ipv6');
    };
  }
  // XBee addresses are hex, written in either case; the transport's keys are lower case.
  const re = globToRegExp(pattern.startsWith('xbee:') ? pattern.toLowerCase() : pattern);
  return (key) => re.test(key);
}

function anyOf(patterns: readonly string[]): PeerMatcher {
  const ms = patterns.map(compilePeerPattern);
  return (key) => ms.some((m) => m(key));
}

/**
 * Whether every topic `inner` matches is also matched by `outer` (both valid filters): a
 * SUBSCRIBE filter must be no wider than an ACL filter, or `#` would read everything.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  // [MQTT-4.7.2-1]: a leading wildcard never matches `$` topics, so it cannot cover a `$` literal.
  if ((o[0] === '+' || o[0] === '#') && i[0]!.startsWith('$')) return false;
  for (let n = 0; n < i.length; n++) {
    const ol = o[n];
    // `#` matches the rest, the parent level included (`a/#` matches `a`).
    if (ol === '#') return true;
    const il = i[n]!;
    // A topic has at least one level, so at the top `+/#` matches exactly what `#` matches;
    // deeper down `x/#` also matches `x` itself, which `x/+/#` does not.
    if (il === '#' && ol === '+' && n === 0 && o.length === 2 && o[1] === '#') return true;
    if (ol === undefined || il === '#') return false;
    if (ol === '+') continue;
    if (il === '+' || il !== ol) return false;
  }
  // `inner` is used up: only a trailing `#` in `outer` matches its topics (as their parent level).
  return o.length === i.length || (o.length === i.length + 1 && o[i.length] === '#');
}

interface CompiledRule {
  clientId: RegExp;
  publish: readonly string[];
  subscribe: readonly string[];
}

export interface ClientRights {
  publish: readonly string[];
  subscribe: readonly string[];
}

const MAX_CACHED_RIGHTS = 10_000;

const DOLLAR = 0x24; // '$'

const NO_RIGHTS: ClientRights = { publish: [], subscribe: [] };

/** A client id that would change a filter's meaning if put in it. */
const FILTER_SPECIAL = /[+#/]/;

export class Authorizer {
  readonly takeover: 'allow' | 'deny';
  readonly #clients: Map<string, PeerMatcher | undefined> | undefined;
  readonly #qosMinusOnePeer: PeerMatcher | undefined;
  /** as configured; undefined: not named (see `qosMinusOne`) */
  readonly #qosMinusOneTopics: ReadonlySet<number> | 'all' | undefined;
  readonly #qosMinusOneShort: boolean | undefined;
  /** `qosMinusOne.retain`: a QoS -1 PUBLISH's retain flag is honoured */
  readonly qosMinusOneRetain: boolean;
  readonly #acl: CompiledRule[] | undefined;
  /** rights by client id, computed on first use */
  readonly #rights = new Map<string, ClientRights>();

  constructor(o: AuthOptions) {
    this.takeover = o.takeover;
    if (o.clients !== undefined) {
      this.#clients = new Map(o.clients.map((c) => [c.clientId, c.peers === undefined ? undefined : anyOf(c.peers)]));
    }
    const q = o.qosMinusOne;
    if (q.peers !== undefined) this.#qosMinusOnePeer = anyOf(q.peers);
    else if (o.clients !== undefined) {
      // With an allow-list, QoS -1 is no back door: only peers some allowed client may use.
      const all = o.clients.flatMap((c) => c.peers ?? []);
      const anywhere = o.clients.some((c) => c.peers === undefined);
      this.#qosMinusOnePeer = anywhere ? undefined : anyOf(all);
    }
    this.#qosMinusOneTopics = q.topics === undefined || q.topics === 'all' ? q.topics : new Set(q.topics);
    this.#qosMinusOneShort = q.shortTopics;
    this.qosMinusOneRetain = q.retain === true;
    this.#acl = o.acl?.map((r) => ({ clientId: clientIdPattern(r.clientId), publish: r.publish, subscribe: r.subscribe }));
  }

  /** MQTT-SN.md §4.3: the answer to a refused CONNECT is 0x03. */
  connect(clientId: string, peerKey: string): ConnectVerdict {
    if (this.#clients === undefined) return 'ok';
    if (!this.#clients.has(clientId)) return 'unknownClient';
    const peer = this.#clients.get(clientId);
    return peer === undefined || peer(peerKey) ? 'ok' : 'wrongPeer';
  }

  /** Whether the client id is on the allow-list by name (an operator vouched for it). */
  listed(clientId: string): boolean {
    return this.#clients?.has(clientId) ?? false;
  }

  /**
   * QoS -1 (MQTT-SN.md §4.8): who may send it, and to which kind of topic. `fromSession`: the
   * sender's address has a session, whose ACL the caller checks as well.
   */
  qosMinusOne(peerKey: string, topic: { type: 'predefined'; id: number } | { type: 'short' } | { type: 'inline' }, fromSession: boolean): boolean {
    if (this.#qosMinusOnePeer !== undefined && !this.#qosMinusOnePeer(peerKey)) return false;
    // A datagram from no session has no client id the ACL could hold it to: with an ACL it goes
    // only where `auth.qosMinusOne` itself names, or the ACL would have a back door any datagram
    // opens. Without an ACL, and for a sender with a session (held to its ACL), open by default.
    const open = this.#acl === undefined || fromSession;
    const topics = this.#qosMinusOneTopics ?? (open ? 'all' : undefined);
    switch (topic.type) {
      case 'predefined':
        return topics === 'all' || (topics?.has(topic.id) ?? false);
      case 'short':
        return this.#qosMinusOneShort ?? open;
      case 'inline':
        // Paho's inline names are not predefined ids: only an unrestricted topic list lets them through.
        return topics === 'all';
    }
  }

  get hasAcl(): boolean {
    return this.#acl !== undefined;
  }

  /**
   * Whether `topic` is the server's own: MQTT 3.1.1 §4.7.2 keeps `$` topics for it, and the local
   * listener refuses `$SYS/` to its clients; MQTT-SN clients are held to the same. Other `$` topics
   * stay open without an ACL: devices publish AWS IoT shadow updates (`$aws/things/...`) through
   * the bridge. With an ACL they go only where a rule names them, since a leading wildcard never
   * matches a `$` topic ([MQTT-4.7.2-1]).
   */
  reserved(topic: string): boolean {
    if (topic.charCodeAt(0) !== DOLLAR) return false;
    return topic === '$SYS' || topic.startsWith('$SYS/');
  }

  mayPublish(clientId: string, topic: string): boolean {
    if (this.reserved(topic)) return false;
    if (this.#acl === undefined) return true;
    return this.rights(clientId).publish.some((f) => topicMatchesFilter(f, topic));
  }

  maySubscribe(clientId: string, filter: string): boolean {
    if (this.#acl === undefined) return true;
    return this.rights(clientId).subscribe.some((f) => filterCovers(f, filter));
  }

  /** The filters a client id gets from every rule it matches, `%c` put in. */
  rights(clientId: string): ClientRights {
    if (this.#acl === undefined) return NO_RIGHTS;
    const cached = this.#rights.get(clientId);
    if (cached !== undefined) return cached;
    const publish: string[] = [];
    const subscribe: string[] = [];
    const unsafe = FILTER_SPECIAL.test(clientId);
    const put = (f: string): string | undefined => (f.includes('%c') ? (unsafe ? undefined : f.replaceAll('%c', clientId)) : f);
    for (const r of this.#acl) {
      if (!r.clientId.test(clientId)) continue;
      for (const f of r.publish) {
        const x = put(f);
        if (x !== undefined) publish.push(x);
      }
      for (const f of r.subscribe) {
        const x = put(f);
        if (x !== undefined) subscribe.push(x);
      }
    }
    const rights = { publish, subscribe };
    // Ids come from CONNECTs that were let in, yet many short sessions add up: start over rather than grow.
    if (this.#rights.size >= MAX_CACHED_RIGHTS) this.#rights.clear();
    this.#rights.set(clientId, rights);
    return rights;
  }
}

/** `*` is every client; `%` matches any characters; anything else is exact. */
function clientIdPattern(p: string): RegExp {
  if (p === '*') return /^/;
  const body = p
    .split('%')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}
