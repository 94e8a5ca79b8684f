/**
 * The flooding host (flooder.ts) as a process of its own, for the flood test and the admission
 * bench: a process so that its sending does not share the event loop of the side that measures.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from '../helpers/children.js';
import type { FloodOrders, FloodReport } from './flooder.js';

/** Starts the flooding host as a process of its own; `stop` ends its garbage once its connects are done. */
export function startFlooder(orders: FloodOrders): { done: Promise<FloodReport>; stop: () => void; kill: () => void } {
  const child = track(fork(fileURLToPath(new URL('./flooder.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const done = new Promise<FloodReport>((resolve, reject) => {
    child.once('message', (m: FloodReport | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    child.once('exit', (code) => reject(new Error(`the flooder exited with ${code} before reporting`)));
    child.once('error', reject);
  });
  child.send(orders);
  return {
    done,
    stop: () => {
      if (child.connected) child.send('stop');
    },
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
