/**
 * The SQLite file's schema and how a file becomes usable: recognising our own files, refusing
 * anything else, and migrating older versions forward.
 *
 * A file is ours when its header carries our `application_id`; `user_version` is the schema
 * version. Each migration takes the schema from version i to i + 1 and runs, with the version
 * bump, in one transaction: a crash mid-migration leaves the old version, not half of the new.
 */
import type Database from 'better-sqlite3';

/** 'MQSN' in the header's application id field (offset 68), so `file(1)` and we can tell our files apart. */
export const APPLICATION_ID = 0x4d51534e;

/**
 * Version 1. Seqs come from one counter for every table (see `SEQ_COUNTER`); a session's
 * subscriptions and topic ids are JSON lists here (version 3 makes them rows).
 */
const V1 = `
CREATE TABLE session (
  client_id      TEXT PRIMARY KEY,
  transport      TEXT,
  peer_key       TEXT,
  state          TEXT NOT NULL,
  clean_session  INTEGER NOT NULL,
  keep_alive_sec INTEGER NOT NULL,
  sleep_sec      INTEGER NOT NULL,
  will_topic     TEXT,
  will_payload   BLOB,
  will_qos       INTEGER,
  will_retain    INTEGER,
  subscriptions  TEXT NOT NULL,
  topics         TEXT NOT NULL
);
CREATE TABLE delivery (
  seq       INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL,
  topic     TEXT NOT NULL,
  payload   BLOB NOT NULL,
  qos       INTEGER NOT NULL,
  retain    INTEGER NOT NULL,
  msg_id    INTEGER,
  stage     TEXT
);
CREATE INDEX delivery_by_client ON delivery (client_id, seq);
CREATE TABLE qos2 (
  client_id TEXT NOT NULL,
  msg_id    INTEGER NOT NULL,
  PRIMARY KEY (client_id, msg_id)
) WITHOUT ROWID;
CREATE TABLE retained (
  topic   TEXT PRIMARY KEY,
  payload BLOB NOT NULL,
  qos     INTEGER NOT NULL
);
CREATE TABLE outbound (
  seq     INTEGER PRIMARY KEY,
  queue   TEXT NOT NULL,
  topic   TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos     INTEGER NOT NULL,
  retain  INTEGER NOT NULL
);
CREATE INDEX outbound_by_queue ON outbound (queue, seq);
CREATE TABLE counter (
  name TEXT PRIMARY KEY,
  next INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Version 2: the local broker core's sessions (aedes' persistence, see `SqliteBrokerPersistence`),
 * so a local MQTT client with clean session false keeps its subscriptions, its offline queue, its
 * QoS 2 flows and its will across a restart. A packet is JSON beside its payload, the one field
 * that is bytes; `broker_outgoing` keeps each client's queue in `seq` order.
 */
const V2 = `
CREATE TABLE broker_subscription (
  client_id TEXT NOT NULL,
  topic     TEXT NOT NULL,
  qos       INTEGER NOT NULL,
  options   TEXT NOT NULL,
  UNIQUE (client_id, topic)
);
CREATE TABLE broker_outgoing (
  seq       INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL,
  packet    TEXT NOT NULL,
  payload   BLOB NOT NULL
);
CREATE INDEX broker_outgoing_by_client ON broker_outgoing (client_id, seq);
CREATE TABLE broker_incoming (
  client_id  TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  packet     TEXT NOT NULL,
  payload    BLOB NOT NULL,
  PRIMARY KEY (client_id, message_id)
) WITHOUT ROWID;
CREATE TABLE broker_will (
  client_id TEXT PRIMARY KEY,
  packet    TEXT NOT NULL,
  payload   BLOB NOT NULL
) WITHOUT ROWID;
`;

/**
 * Version 3: a session's topic ids and subscriptions one row each, so a REGISTER or a SUBSCRIBE
 * writes one row instead of the session's whole list (1000 REGISTERs of long names rewrote a
 * growing JSON list each time: 690 times the names' bytes went to the disk, and SD cards wear).
 * Rows keep their insertion order by rowid. The JSON lists of version 2 move into the rows.
 */
const V3 = `
CREATE TABLE session_topic (
  client_id TEXT NOT NULL,
  topic_id  INTEGER NOT NULL,
  name      TEXT NOT NULL,
  UNIQUE (client_id, topic_id)
);
CREATE TABLE session_subscription (
  client_id TEXT NOT NULL,
  filter    TEXT NOT NULL,
  qos       INTEGER NOT NULL,
  kind      TEXT NOT NULL,
  UNIQUE (client_id, filter)
);
INSERT INTO session_topic (client_id, topic_id, name)
  SELECT s.client_id, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
  FROM session AS s, json_each(s.topics) AS j ORDER BY s.client_id, j.key;
INSERT INTO session_subscription (client_id, filter, qos, kind)
  SELECT s.client_id, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]')
  FROM session AS s, json_each(s.subscriptions) AS j ORDER BY s.client_id, j.key;
ALTER TABLE session DROP COLUMN subscriptions;
ALTER TABLE session DROP COLUMN topics;
`;

/**
 * Version 4: MQTT-SN 2.0 sessions (issue #18). `protocol` is the version of the CONNECT that made
 * the session: every row written before it was kept is a 1.2 session, hence the default. The 2.0
 * columns are what the client agreed in CONNECT (see `PersistedV2`), NULL / 0 for 1.2;
 * `silent_since` is when an absent client was last heard (wall-clock ms), so its session expiry
 * survives a restart; NULL in old rows (then counted from the restart, as before). A
 * subscription's 2.0 options No Local and Retain as Published [3.7.2] are 0 for 1.2's.
 */
const V4 = `
ALTER TABLE session ADD COLUMN protocol TEXT NOT NULL DEFAULT '1.2';
ALTER TABLE session ADD COLUMN session_expiry_sec INTEGER;
ALTER TABLE session ADD COLUMN awake_limit INTEGER;
ALTER TABLE session ADD COLUMN max_packet_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN address_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN silent_since INTEGER;
ALTER TABLE session_subscription ADD COLUMN no_local INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_subscription ADD COLUMN retain_as_published INTEGER NOT NULL DEFAULT 0;
`;

/** `MIGRATIONS[i]` takes the schema from version i to i + 1; version 0 is an empty file. */
export const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [(db) => db.exec(V1), (db) => db.exec(V2), (db) => db.exec(V3), (db) => db.exec(V4)];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The name, in `counter`, of the seq high-water mark shared by `delivery` and `outbound`. */
export const SEQ_COUNTER = 'seq';

/** What a file holds, before anything is written to it. */
export type FileKind =
  | { kind: 'empty' }
  | { kind: 'ours'; version: number }
  | { kind: 'foreign'; applicationId: number; tables: string[] };

export function inspect(db: Database.Database): FileKind {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  if (applicationId === APPLICATION_ID) return { kind: 'ours', version };
  // A file with nothing in it is a new file, whatever created it (an `touch`, an earlier crash).
  if (applicationId === 0 && version === 0 && tables.length === 0) return { kind: 'empty' };
  return { kind: 'foreign', applicationId, tables };
}

/** Brings the schema from `from` to `SCHEMA_VERSION`, one transaction per step. */
export function migrate(db: Database.Database, from: number): void {
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v]!;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${v + 1}`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
  }
}
