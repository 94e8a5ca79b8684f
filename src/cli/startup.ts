/**
 * The start-up problems a person can fix, each said in one line that says what to do: a port
 * already taken, a serial device that is missing or not permitted. No stack traces: these are
 * the environment's state, not the gateway's defects.
 */
import { constants, readFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';

/** The errno code (`EADDRINUSE`, ...) of an error or of anything in its cause chain. */
export function errnoCode(err: unknown): string | undefined {
  let e = err;
  // Bounded: a cause chain can, in principle, loop.
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    // Node's own codes (ERR_...) name API misuse, not the state of the system.
    if ('code' in e && typeof e.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code) && !e.code.startsWith('ERR_')) return e.code;
    e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

const NETWORK_HINTS: Record<string, string> = {
  EADDRINUSE: 'address already in use: another program (or another gateway) has this port; stop it or choose another port in the config',
  EACCES: 'permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1023',
  EADDRNOTAVAIL: 'this machine has no such address; check the host in the config (0.0.0.0 or :: listens on every interface)',
  EAI_AGAIN: 'the host name could not be resolved (no DNS?); use an IP address',
  ENOTFOUND: 'the host name is unknown; use an IP address or fix the name',
  EAI_NONAME: 'the host name is unknown; use an IP address or fix the name',
};

/**
 * One line for an error that stopped the start: the part and address the error names, and
 * instead of the system's wording (`listen EADDRINUSE: address already in use 127.0.0.1:1883`)
 * what it means and what to do.
 */
export function describeStartupError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = errnoCode(err);
  const hint = code === undefined ? undefined : NETWORK_HINTS[code];
  const firstLine = message.split('\n')[0] ?? message;
  if (hint === undefined) return firstLine;
  const cause = err instanceof Error && err.cause instanceof Error ? (err.cause.message.split('\n')[0] ?? '') : '';
  if (cause !== '' && firstLine.endsWith(cause)) return `${firstLine.slice(0, -cause.length)}${hint}`;
  return `${firstLine} (${hint})`;
}

export type SerialProblemKind = 'missing' | 'denied' | 'other';

export interface SerialProblem {
  kind: SerialProblemKind;
  path: string;
  /** one line naming the device, what is wrong and what to do */
  message: string;
}

/** A group's name from /etc/group (`dialout` for gid 20 on Debian), undefined when unknown. */
export function groupName(gid: number, groupFile = '/etc/group'): string | undefined {
  try {
    for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name !== undefined && name !== '' && id !== undefined && Number(id) === gid) return name;
    }
  } catch {
    // no /etc/group (not Linux)
  }
  return undefined;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '$USER';
  }
}

/**
 * Whether the gateway can open a serial device, checked the way the kernel will check it, so
 * the reason is an errno and not the serial library's free text. Undefined when it can.
 */
export async function checkSerialDevice(path: string): Promise<SerialProblem | undefined> {
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return {
        kind: 'missing',
        path,
        message:
          `serial device ${path} not found: plug the radio in, or find its path with "mqttsn-gateway --list-serial-ports" ` +
          '(a /dev/serial/by-id/... path stays the same across reboots); the gateway keeps trying',
      };
    }
    if (code === 'EACCES' || code === 'EPERM') {
      const user = currentUser();
      let group: string | undefined;
      let groupMayOpen = true;
      try {
        const st = await stat(path);
        group = groupName(st.gid);
        // Joining the device's group helps only when the group may read and write it, and
        // joining root's group is no advice to give.
        groupMayOpen = (st.mode & 0o060) === 0o060 && st.gid !== 0;
      } catch {
        // keep the usual advice
      }
      const fix =
        groupMayOpen
          ? `add the user to the "${group ?? 'dialout'}" group (sudo usermod -aG ${group ?? 'dialout'} ${user}), then log in again or restart the service`
          : `the device is not open to a group; give it to the "dialout" group with a udev rule (GROUP="dialout", MODE="0660"; see the README), ` +
            `then add the user to that group (sudo usermod -aG dialout ${user})`;
      return { kind: 'denied', path, message: `permission denied opening serial device ${path}: ${fix}; the gateway keeps trying` };
    }
    return { kind: 'other', path, message: `serial device ${path} cannot be opened: ${err instanceof Error ? err.message : String(err)}` };
  }
}
