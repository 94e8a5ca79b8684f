/**
 * `auth` and `limits.rate`: who may connect, from where, what each client may publish and
 * subscribe, and how fast one peer may knock. Everything is off or generous by default so that a
 * config without these sections behaves as before.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { TOPIC_ID_MAX, TOPIC_ID_MIN } from '../codec/constants.js';
import { ConfigIssueCode } from './errors.js';

/** `udp:10.1.0.0/16`, `udp:[fd00::]/8` or `udp:fd00::/8`: a CIDR block on the UDP source address. */
const CIDR = /^udp:\[?([0-9A-Fa-f:.]+)\]?\/(\d{1,3})$/;

/** Why a peer pattern is unusable, or undefined when it is fine. */
function peerPatternProblem(p: string): string | undefined {
  if (p === '') return 'got an empty peer pattern';
  const m = CIDR.exec(p);
  if (m === null) return undefined; // a `*` glob on the peer key: anything goes
  const family = isIP(m[1]!);
  if (family === 0) return `${JSON.stringify(p)}: ${m[1]} is not an IP address`;
  const bits = Number(m[2]);
  if (bits > (family === 4 ? 32 : 128)) return `${JSON.stringify(p)}: /${bits} is longer than an IPv${family} address`;
  return undefined;
}

const peerPattern = z
  .string()
  .superRefine((p, ctx) => {
    const problem = peerPatternProblem(p);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem}; expected udp:<address>/<bits> or a peer key with * wildcards`, input: p, params: { code: ConfigIssueCode.INVALID_VALUE } });
  })
  .describe(
    'Where a client may come from: udp:<address>/<bits> (IPv4 or IPv6 CIDR on the UDP source address; behind a forwarder, the forwarder\'s), ' +
      'or a peer key with * matching anything: "xbee:0013a200*", "serial:/dev/ttyUSB0", "udp:10.0.0.7:*".',
  );

const peers = z.array(peerPattern).min(1);

const allowedClient = z
  .strictObject({
    clientId: z.string().min(1).describe('The exact client id.'),
    peers: peers.optional().describe('Peer patterns it must connect from. Absent: from anywhere.'),
  })
  .describe('One client allowed to connect.');

const aclFilter = z.string().min(1).describe('A topic filter; %c stands for the client id.');

/**
 * One ACL rule: who it is for (`subject`: clientId for MQTT-SN clients, user for listener
 * clients) and the filters they may publish to and subscribe within. Both ACLs read alike.
 */
export function aclRuleSchema<K extends string>(o: { subject: K; subjectText: string; filter: z.ZodType<string, string>; who: string; description: string }) {
  const subject = { [o.subject]: z.string().min(1).describe(o.subjectText) } as Record<K, z.ZodString>;
  return z
    .strictObject({
      ...subject,
      publish: z.array(o.filter).default([]).describe(`Filters the ${o.who} may publish to (its will included).`),
      subscribe: z.array(o.filter).default([]).describe(`Filters the ${o.who} may subscribe within: a SUBSCRIBE filter must be no wider than one of these.`),
    })
    .describe(o.description);
}

const aclRule = aclRuleSchema({
  subject: 'clientId',
  subjectText: 'Which clients the rule is for: an exact id, "*" for every client, or a pattern where % matches any characters ("sensor-%").',
  filter: aclFilter,
  who: 'client',
  description: 'What matching clients may do. %c in a filter is the client id; a client id containing +, # or / gets nothing from a rule that uses %c.',
});

const qosMinusOneAuth = z
  .strictObject({
    topics: z
      .union([z.literal('all'), z.array(z.int().min(TOPIC_ID_MIN).max(TOPIC_ID_MAX))])
      .optional()
      .describe(
        'Predefined topic ids QoS -1 may publish to: "all", or a list of ids. Absent: "all" without auth.acl; with auth.acl, none for a ' +
          'sender with no session (a QoS -1 datagram has no client id the ACL could hold it to, so it goes only where this names), and "all" ' +
          "for a connected sender, whom its own ACL rights then limit.",
      ),
    shortTopics: z
      .boolean()
      .optional()
      .describe('Whether QoS -1 may publish to short (two-character) topic names. Absent: true without auth.acl; with auth.acl, false for a sender with no session, true for a connected one (held to its ACL).'),
    retain: z
      .boolean()
      .default(false)
      .describe(
        'Whether a QoS -1 PUBLISH may set or clear a retained message. Off: its retain flag is ignored (the message goes out, nothing is ' +
          'retained), since anyone who can send one datagram would otherwise decide what every later subscriber gets first, and keep it there.',
      ),
    peers: peers
      .optional()
      .describe('Peer patterns QoS -1 is accepted from. Absent: anywhere, unless auth.clients is set, then only from peers some allowed client may use.'),
  })
  .prefault({})
  .describe('Who may publish without a connection (QoS -1, MQTT-SN 1.2 §6.8), and where to.');

export const authSchema = z
  .strictObject({
    clients: z
      .array(allowedClient)
      .optional()
      .describe('Allow-list of client ids. Absent: every client id may connect. Others get CONNACK 0x03 (rejected: not supported).'),
    qosMinusOne: qosMinusOneAuth,
    acl: z
      .array(aclRule)
      .optional()
      .describe('Publish and subscribe rights. Absent: everything is allowed. Present: a client no rule matches may neither publish nor subscribe.'),
    takeover: z
      .enum(['allow', 'deny'])
      .default('allow')
      .describe('A CONNECT for a client id that is connected from another address: "allow" closes the old connection, "deny" refuses the new one with CONNACK 0x03.'),
  })
  .prefault({})
  .describe('Who may connect, from where, and what they may do.');

const bucket = (perSecond: number, burst: number, what: string) =>
  z
    .strictObject({
      perSecond: z.number().positive().default(perSecond).describe('Tokens added per second.'),
      burst: z.int().min(1).default(burst).describe('Bucket size: how many may come at once after a quiet spell.'),
    })
    .prefault({})
    .describe(what);

export const rateLimitsSchema = z
  .strictObject({
    enforce: z
      .enum(['underPressure', 'always'])
      .default('underPressure')
      .describe(
        '"underPressure": the buckets below refuse only while the gateway is under pressure (limits.pressure); an idle gateway serves a NAT ' +
          'of hundreds of clients or one fast publisher in full. Every request still takes its token, so a source that was flooding is the first ' +
          'held back when pressure comes. "always": the buckets refuse whenever they are empty, as in earlier releases.',
      ),
    connectPerPeer: bucket(5, 10, 'CONNECT per peer address; beyond it CONNACK 0x01 (congestion).'),
    connectPerAddress: bucket(
      20,
      100,
      'CONNECT per network address, all source ports together (UDP: the IP address; behind a forwarder: the forwarder\'s address; other media: the peer). Beyond it CONNACK 0x01. ' +
        'Stops one host from opening sessions from thousands of source ports; the burst lets a site behind one NAT address reconnect after a power cut.',
    ),
    registerPerPeer: bucket(50, 200, 'REGISTER per peer address; beyond it REGACK 0x01.'),
    willUpdatePerClient: bucket(
      0.2,
      4,
      'WILLTOPICUPD and WILLMSGUPD per client id; beyond it WILLTOPICRESP / WILLMSGRESP 0x01 (congestion) and the will stays as it was. ' +
        'In transparent mode each update reopens the client\'s upstream connection (MQTT 3.1.1 cannot change a live will): the default lets a device change its will twice at once, then once every 5 s.',
    ),
    publishPerPeer: bucket(2000, 4000, 'PUBLISH per peer address (all QoS); beyond it QoS 1/2 get PUBACK 0x01, QoS 0/-1 are dropped. The default is far above what a sensor sends and caps a flood from one address.'),
    datagramsPerAddress: bucket(
      5000,
      10_000,
      'Frames of any kind per network address (as connectPerAddress), checked before a frame is decoded; beyond it the frame is dropped unread (counted as dropped.shed). ' +
        'Only while under pressure (whatever "enforce" says): a flood of garbage or CONNECTs from one host is shed at the cost of a map lookup, so the socket drains and other hosts are served.',
    ),
  })
  .prefault({})
  .describe(
    'Token buckets per peer (a UDP address and port, an XBee address, a serial line) and per network address, against floods and spoofed sources. ' +
      'By default they hold back only while the gateway is under pressure (limits.pressure). Excess is counted as dropped.rateLimited.',
  );

const percent = (d: number, what: string) => z.number().min(1).max(100).default(d).describe(what);

export const pressureSchema = z
  .strictObject({
    sessionsPercent: percent(50, 'Under pressure when sessions reach this percentage of limits.maxSessions.'),
    pendingConnectsPercent: percent(50, 'Under pressure when half-open sessions (will exchange under way) reach this percentage of limits.maxPendingConnects.'),
    connectsPerSecond: z
      .number()
      .positive()
      .default(2000)
      .describe('Under pressure when CONNECTs of all clients together arrive faster than this (estimated over the last second). 1,000 clients reconnecting at once stay below it.'),
    eventLoopLagMs: z
      .number()
      .positive()
      .default(100)
      .describe('Under pressure when the mean event-loop delay over the last second exceeds this many milliseconds (the gateway is falling behind).'),
    bufferedBytesPercent: percent(50, 'Under pressure when bytes buffered for clients reach this percentage of limits.maxBufferedBytesTotal.'),
  })
  .prefault({})
  .describe(
    'When the gateway counts as under pressure. While it is not, no rate limit refuses anything; while it is, the limits.rate buckets share what is left ' +
      'fairly per network address and frames over datagramsPerAddress are dropped before decoding. With the table full (limits.maxSessions), a session ' +
      'that did nothing since its CONNACK makes room for a newcomer, who is refused only when there is none.',
  );

export type PressureConfig = z.output<typeof pressureSchema>;

export type AuthConfig = z.output<typeof authSchema>;
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
