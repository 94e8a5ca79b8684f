/** Runs the continuation of an uplink answer: in the same turn when the port had it at hand. */
import type { Answer } from '../uplink/port.js';

export function whenAnswered<T>(answer: Answer<T>, ok: (value: T) => void, fail: (err: unknown) => void): void {
  if (answer instanceof Promise) answer.then(ok, fail);
  else ok(answer);
}
