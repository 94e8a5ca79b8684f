/**
 * MQTT-SN 2.0 MQTT-BASIC checks [4.11]: each is one scrypt (about 16 MiB and tens of
 * milliseconds on a Raspberry Pi, broker/passwords.ts), so a flood of CONNECTs with credentials
 * must not run them all at once: at most MAX_RUNNING run, MAX_WAITING wait their turn, and a
 * CONNECT beyond that is refused at once (CONNACK 0x89, Server busy) at no cost.
 */

/** Users and passwords (a `PasswordTable` of the local listener's password file). */
export interface PasswordChecker {
  check(username: string, password: Buffer): Promise<boolean>;
}

/** As the local listener's guard (broker/listener-auth.ts): two at a time keeps the loop responsive. */
const MAX_RUNNING = 2;
const MAX_WAITING = 64;

export class PasswordGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** The check's outcome, or undefined when too many are under way. Never rejects: a failing check is a refusal. */
  check(users: PasswordChecker, username: string, password: Buffer): Promise<boolean> | undefined {
    if (this.#running >= MAX_RUNNING && this.#waiting.length >= MAX_WAITING) return undefined;
    return new Promise<boolean>((resolve) => {
      const run = (): void => {
        this.#running++;
        users.check(username, password).then(
          (ok) => this.#done(resolve, ok),
          () => this.#done(resolve, false),
        );
      };
      if (this.#running < MAX_RUNNING) run();
      else this.#waiting.push(run);
    });
  }

  #done(resolve: (ok: boolean) => void, ok: boolean): void {
    this.#running--;
    this.#waiting.shift()?.();
    resolve(ok);
  }
}

/** MQTT-BASIC Authentication Data [4.11]: a u16-length user name (UTF-8), then a u16-length password. */
export function basicCredentials(data: Buffer): { username: string; password: Buffer } | undefined {
  if (data.length < 2) return undefined;
  const userEnd = 2 + data.readUInt16BE(0);
  if (data.length < userEnd + 2) return undefined;
  const passwordEnd = userEnd + 2 + data.readUInt16BE(userEnd);
  if (data.length !== passwordEnd) return undefined;
  const user = data.subarray(2, userEnd);
  const username = user.toString('utf8');
  // Not UTF-8 (a replacement character came in) or U+0000: no user name a password file can hold.
  if (!Buffer.from(username, 'utf8').equals(user) || username.includes('\u0000')) return undefined;
  return { username, password: data.subarray(userEnd + 2, passwordEnd) };
}
