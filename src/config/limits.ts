/** The `limits` section: resource limits per client and for the gateway as a whole. */
import { z } from 'zod';
import { pressureSchema, rateLimitsSchema } from './auth.js';
import { TOPIC_ID_MAX } from '../codec/constants.js';

export const limitsSchema = z
  .strictObject({
    maxSessions: z.int().min(1).default(100_000).describe('Sessions of all states together. When reached, a new client takes the place of the session absent longest, else of one that did nothing since its CONNACK, else gets CONNACK 0x01 (congestion).'),
    maxPendingConnects: z
      .int()
      .min(1)
      .default(1000)
      .describe(
        'Half-open sessions: CONNECTs with a will whose will exchange is not finished (each lasts at most timers.connectTimeoutMs). ' +
          'A CONNECT with a will beyond it gets CONNACK 0x01 (congestion), so a CONNECT flood cannot park thousands of them.',
      ),
    maxRegistrationsPerClient: z
      .int()
      .min(1)
      .max(TOPIC_ID_MAX)
      .default(1000)
      .describe('Normal topic ids per client (at most 65534: 0x0000 and 0xFFFF are reserved).'),
    maxSubscriptionsPerClient: z.int().min(1).default(100).describe('Subscriptions per client; a SUBSCRIBE beyond it gets SUBACK 0x01.'),
    sleepBufferMessages: z
      .int()
      .min(0)
      .default(100)
      .describe('Messages kept per sleeping client; the oldest is dropped when full. 0 keeps none.'),
    maxInflightQueue: z
      .int()
      .min(0)
      .default(1000)
      .describe('Outbound messages queued per awake client behind the one in flight; the oldest is dropped when full.'),
    maxBufferedBytesTotal: z
      .int()
      .min(0)
      .default(64 * 1024 * 1024)
      .describe(
        'Payload and topic bytes waiting in the queues of all clients together. When reached, a new message for a sleeping or absent client ' +
          'is dropped (counted as dropped.bufferedBytesFull) and nothing already buffered is touched; sleepBufferMessages still caps each client.',
      ),
    maxTopicBytes: z
      .int()
      .min(1)
      .max(0xffff)
      .default(256)
      .describe(
        'Longest topic name or filter, in UTF-8 bytes, that a client may REGISTER (else REGACK 0x03), SUBSCRIBE (else SUBACK 0x03) ' +
          'or give as its will topic. Sensor topics are short; 256 leaves room for deep trees while 1000 registrations cannot take megabytes.',
      ),
    maxTopicBytesTotal: z
      .int()
      .min(0)
      .default(32 * 1024 * 1024)
      .describe(
        'Topic names registered and filters subscribed by all clients together, counted as UTF-8 bytes plus 64 per entry. When reached, ' +
          'a REGISTER or SUBSCRIBE of a new topic gets 0x01 (congestion) and a message needing a new topic id for a client is not delivered to it.',
      ),
    maxQos2AwaitingPubrel: z
      .int()
      .min(1)
      .max(0xffff)
      .default(16)
      .describe(
        'QoS 2 message ids of one client that were received and await its PUBREL (MQTT-SN 1.2 §6.7). A new QoS 2 PUBLISH beyond it gets ' +
          'PUBACK 0x01 (congestion) and is not published; a client sends one at a time, so 16 is room for retries and lost PUBRELs.',
      ),
    sessionExpirySec: z
      .int()
      .min(0)
      .default(7 * 24 * 3600)
      .describe(
        'A kept session (clean session false) whose client disconnected or was lost is forgotten this many seconds after the client was last ' +
          'heard from: its subscriptions, topic ids and buffered messages go (like mosquitto\'s persistent_client_expiration). ' +
          'Asleep clients are not absent: they are lost, and start this clock, only after their sleep duration runs out. 0: never by time.',
      ),
    idleSessionSec: z
      .int()
      .min(0)
      .default(24 * 3600)
      .describe(
        'A connected client with keep-alive 0 (no supervision, MQTT-SN 1.2 §6.3) that is not on auth.clients is lost after this many seconds ' +
          'without a message, so such sessions cannot hold maxSessions for ever. Clients on the allow-list are trusted with keep-alive 0. 0: never.',
      ),
    rate: rateLimitsSchema,
    pressure: pressureSchema,
  })
  .prefault({})
  .describe('Resource limits that keep one client, or many, from exhausting the gateway.');
