/**
 * Passwords of local MQTT listener clients: scrypt hashes (node:crypto) in a text file of
 * `username:scrypt$N$r$p$salt$key` lines, salt and key in base64. The parameters travel in each
 * line, so stronger ones can be used for new lines without invalidating old ones.
 *
 * Pure functions and one table; no file or socket I/O here (the config layer reads the file).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptHash {
  /** CPU/memory cost, a power of two */
  readonly N: number;
  /** block size */
  readonly r: number;
  /** parallelism */
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * What `hashPassword` uses: N = 2^14, r = 8 costs about 16 MiB and some tens of milliseconds on
 * a Raspberry Pi per check, which is what a connecting client pays once and a guesser per guess.
 */
export const SCRYPT_DEFAULTS = { N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

// Bounds on what a line may ask for: enough for any sane hash, and a line cannot make one
// check allocate gigabytes (scrypt needs 128 * N * r bytes).
const MIN_LOG2_N = 10;
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 256 * 1024 * 1024;
const MIN_SALT_BYTES = 8;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;

const SCHEME = 'scrypt';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

/** A user name a password file can hold: no ':' (the separator), no white space or control characters. */
export function usernameProblem(name: string): string | undefined {
  if (name === '') return 'the user name is empty';
  if (name.includes(':')) return `user name ${JSON.stringify(name)} contains ':'`;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\s\u0000-\u001f\u007f]/.test(name)) return `user name ${JSON.stringify(name)} contains white space or a control character`;
  if (Buffer.byteLength(name) > 65_535) return 'the user name is longer than MQTT allows (65535 bytes)';
  return undefined;
}

/** The hash as one line's second half: `scrypt$N$r$p$salt$key`. */
export function formatHash(h: ScryptHash): string {
  return [SCHEME, h.N, h.r, h.p, h.salt.toString('base64'), h.key.toString('base64')].join('$');
}

/** Parses `scrypt$N$r$p$salt$key`; a string says what is wrong. */
export function parseHash(text: string): ScryptHash | string {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return 'expected a hash of the form scrypt$N$r$p$salt$key (see mqttsn-gateway --hash-password)';
  const [, nText, rText, pText, saltText, keyText] = parts as [string, string, string, string, string, string];
  if (![nText, rText, pText].every((t) => DECIMAL.test(t))) return 'N, r and p must be positive decimal numbers';
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  const log2N = Math.log2(N);
  if (!Number.isInteger(log2N) || log2N < MIN_LOG2_N || log2N > MAX_LOG2_N) return `N = ${N}; expected a power of two from 2^${MIN_LOG2_N} to 2^${MAX_LOG2_N}`;
  if (r > MAX_R) return `r = ${r}; expected at most ${MAX_R}`;
  if (p > MAX_P) return `p = ${p}; expected at most ${MAX_P}`;
  if (128 * N * r > MAX_MEMORY) return `N = ${N} with r = ${r} needs ${(128 * N * r) / 2 ** 20} MiB per check; expected at most ${MAX_MEMORY / 2 ** 20} MiB`;
  const salt = decodeBase64(saltText);
  const key = decodeBase64(keyText);
  if (salt === undefined || key === undefined) return 'salt and key must be base64';
  if (salt.length < MIN_SALT_BYTES) return `the salt has ${salt.length} bytes; expected at least ${MIN_SALT_BYTES}`;
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) return `the key has ${key.length} bytes; expected ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES}`;
  return { N, r, p, salt, key };
}

function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

function derive(password: Buffer, salt: Buffer, keyBytes: number, h: Pick<ScryptHash, 'N' | 'r' | 'p'>): Promise<Buffer> {
  // Node refuses above maxmem (32 MiB by default); parseHash already bounded what a line may ask.
  const options: ScryptOptions = { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.N * h.r + 2 * 2 ** 20 };
  // Asynchronous: it runs on libuv's pool, so a CONNECT does not stall every other client.
  return new Promise((resolve, reject) => scrypt(password, salt, keyBytes, options, (err, key) => (err === null ? resolve(key) : reject(err))));
}

/** A new hash of `password` with a random salt and `SCRYPT_DEFAULTS`. */
export async function hashPassword(password: string | Buffer): Promise<string> {
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const buf = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const key = await derive(buf, salt, SCRYPT_DEFAULTS.keyBytes, SCRYPT_DEFAULTS);
  return formatHash({ N: SCRYPT_DEFAULTS.N, r: SCRYPT_DEFAULTS.r, p: SCRYPT_DEFAULTS.p, salt, key });
}

/** Whether `password` is the one `hash` was made from; the comparison takes the same time whatever it finds. */
export async function verifyPassword(password: Buffer, hash: ScryptHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, hash);
  return timingSafeEqual(key, hash.key);
}

/** One problem of a password file, with its 1-based line. */
export interface PasswordFileProblem {
  line: number;
  message: string;
}

/**
 * Reads the text of a password file: one `username:hash` per line; blank lines and lines
 * starting with '#' are ignored. Every problem is reported, not just the first.
 */
export function parsePasswordFile(text: string): { users: Map<string, ScryptHash>; problems: PasswordFileProblem[] } {
  const users = new Map<string, ScryptHash>();
  const firstLine = new Map<string, number>();
  const problems: PasswordFileProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (content.trim() === '' || content.trimStart().startsWith('#')) return;
    const colon = content.indexOf(':');
    if (colon === -1) {
      problems.push({ line, message: 'expected username:scrypt$N$r$p$salt$key' });
      return;
    }
    const name = content.slice(0, colon);
    const nameProblem = usernameProblem(name);
    if (nameProblem !== undefined) {
      problems.push({ line, message: nameProblem });
      return;
    }
    const hash = parseHash(content.slice(colon + 1));
    if (typeof hash === 'string') {
      problems.push({ line, message: `user ${JSON.stringify(name)}: ${hash}` });
      return;
    }
    const earlier = firstLine.get(name);
    if (earlier !== undefined) {
      problems.push({ line, message: `user ${JSON.stringify(name)} is already on line ${earlier}; expected each user once` });
      return;
    }
    firstLine.set(name, line);
    users.set(name, hash);
  });
  if (users.size === 0 && problems.length === 0) problems.push({ line: 1, message: 'no users; expected at least one username:hash line' });
  return { users, problems };
}

/**
 * The users a listener accepts. `check` costs one scrypt whether or not the user exists: an
 * unknown name is checked against a stand-in hash with the parameters of the file's first user
 * (usually those of every user), so the answer's timing does not tell which names exist.
 */
export class PasswordTable {
  readonly #users: ReadonlyMap<string, ScryptHash>;
  readonly #standIn: ScryptHash;

  constructor(users: ReadonlyMap<string, ScryptHash>) {
    this.#users = users;
    const model = users.values().next().value ?? { ...SCRYPT_DEFAULTS, key: Buffer.alloc(SCRYPT_DEFAULTS.keyBytes) };
    this.#standIn = { N: model.N, r: model.r, p: model.p, salt: randomBytes(SCRYPT_DEFAULTS.saltBytes), key: randomBytes(model.key.length) };
  }

  get size(): number {
    return this.#users.size;
  }

  async check(username: string, password: Buffer): Promise<boolean> {
    const hash = this.#users.get(username);
    const ok = await verifyPassword(password, hash ?? this.#standIn);
    return ok && hash !== undefined;
  }
}
