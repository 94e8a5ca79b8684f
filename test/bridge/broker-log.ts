/**
 * A real mosquitto for one suite with its debug log on: its lines ("Received PUBREC from <client
 * id> (Mid: 1)", "Sending PUBLISH to <client id> (d1, q2, ...") are the broker's own account of
 * each QoS flow, which the QoS 2 tests read. Registers the suite's before / after hooks; what the
 * suite opens goes in `closers`, closed (newest first) before the broker stops.
 */
import { after, before } from 'node:test';
import { Mosquitto } from '../helpers/mosquitto.js';

export interface LoggingBroker {
  /** the running broker (from `before` on) */
  readonly mosquitto: Mosquitto;
  readonly closers: Array<() => Promise<unknown>>;
  /** how many times `text` appears in what mosquitto logged so far */
  logged: (text: string) => number;
}

export function loggingBroker(): LoggingBroker {
  let mosquitto: Mosquitto | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  before(async () => {
    mosquitto = await Mosquitto.start({ extraConfig: ['log_type debug'] });
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await mosquitto?.close();
  });
  return {
    get mosquitto(): Mosquitto {
      if (mosquitto === undefined) throw new Error('the broker starts in before()');
      return mosquitto;
    },
    closers,
    logged: (text) => (mosquitto?.log.split(text).length ?? 1) - 1,
  };
}
