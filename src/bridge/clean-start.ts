/**
 * A 2.0 client's Clean Start [3.1.2.1] and Session Expiry Interval [3.1.9] on an MQTT 3.1.1
 * upstream, which has one flag for both (clean session, §3.1.2.4):
 *
 * | Clean Start | Session Expiry | upstream                                                    |
 * | ----------- | -------------- | ----------------------------------------------------------- |
 * | 1           | 0              | clean session 1: nothing kept before or after               |
 * | 0           | any            | clean session 0: the kept session goes on                   |
 * | 1           | > 0            | a clean-session-1 connection first, closed at once, then 0  |
 *
 * What 3.1.1 cannot say is how long the broker keeps the session after the connection: a clean
 * session 0 is kept until the broker's own expiry (mosquitto's `persistent_client_expiration`,
 * none by default), whatever interval the device asked for; the gateway forgets its side of
 * the session on time, the broker may not. The device's Session Expiry Interval 0 after a kept
 * session (Clean Start 0) therefore leaves that session with the broker.
 */
import type { UpstreamConnection, UpstreamConnector, UpstreamHandlers, Message, QoS } from './upstream.js';

/** The upstream clean-session flag for a client's connection. */
export function upstreamCleanSession(req: { cleanSession: boolean; cleanStart?: boolean }): boolean {
  return (req.cleanStart ?? req.cleanSession) && req.cleanSession;
}

/** Whether a client's connection must discard the upstream session first (Clean Start 1, a session to keep after). */
export function discardsFirst(req: { cleanSession: boolean; cleanStart?: boolean }): boolean {
  return (req.cleanStart ?? req.cleanSession) && !req.cleanSession;
}

/**
 * Connects with `clean` (clean session 1), disconnects at once, then connects with `kept`
 * (clean session 0): the broker's old session is gone and the new one is kept. Only the first
 * connection does it; a reconnect after a loss resumes the session it made.
 */
export function discardingFirst(clean: UpstreamConnector, kept: UpstreamConnector): UpstreamConnector {
  let discarded = false;
  return (handlers) => {
    if (discarded) return kept(handlers);
    return new DiscardThenKeep(clean, kept, handlers, () => (discarded = true));
  };
}

class DiscardThenKeep implements UpstreamConnection {
  #current: UpstreamConnection;
  #ended = false;

  constructor(clean: UpstreamConnector, kept: UpstreamConnector, handlers: UpstreamHandlers, onDiscarded: () => void) {
    this.#current = clean({
      connected: () => {
        const first = this.#current;
        // DISCONNECT on a clean session ends it at the broker (§3.1.2.4), then the kept one opens.
        void first.end(true).then(() => {
          if (this.#ended) return;
          onDiscarded();
          this.#current = kept(handlers);
        });
      },
      // A clean session has no subscriptions: nothing is sent to it.
      message: (_msg, done) => done(),
      closed: (err) => {
        if (!this.#ended) handlers.closed(err, false);
      },
    });
  }

  get writeBacklog(): number {
    return this.#current.writeBacklog;
  }

  publish(msg: Message, done?: (err?: Error) => void): void {
    this.#current.publish(msg, done);
  }

  subscribe(subs: ReadonlyArray<{ filter: string; qos: QoS }>): Promise<number[]> {
    return this.#current.subscribe(subs);
  }

  unsubscribe(filters: readonly string[]): Promise<void> {
    return this.#current.unsubscribe(filters);
  }

  end(graceful: boolean): Promise<void> {
    this.#ended = true;
    return this.#current.end(graceful);
  }
}
