/**
 * A scripted upstream for bridge tests without a broker: every connection the bridge opens is
 * recorded, and the test decides when it connects, fails, drops, acknowledges or delivers.
 */
import type { UpstreamConnection, UpstreamConnector, UpstreamHandlers, Message } from '../../src/bridge/upstream.js';

export interface Published {
  msg: Message;
  done: ((err?: Error) => void) | undefined;
}

export class FakeConnection implements UpstreamConnection {
  readonly published: Published[] = [];
  readonly subscriptions: Array<ReadonlyArray<{ filter: string; qos: 0 | 1 | 2 }>> = [];
  /** what SUBSCRIBE answers; default: everything granted as asked */
  grant: ((filter: string, qos: number) => number) | undefined;
  writeBacklog = 0;
  ended: 'graceful' | 'forced' | undefined;
  #acked = 0;

  constructor(readonly handlers: UpstreamHandlers) {}

  publish(msg: Message, done?: (err?: Error) => void): void {
    this.published.push({ msg, done });
  }

  subscribe(subs: ReadonlyArray<{ filter: string; qos: 0 | 1 | 2 }>): Promise<number[]> {
    this.subscriptions.push(subs);
    return Promise.resolve(subs.map((s) => (this.grant ? this.grant(s.filter, s.qos) : s.qos)));
  }

  readonly unsubscriptions: Array<readonly string[]> = [];

  unsubscribe(filters: readonly string[]): Promise<void> {
    this.unsubscriptions.push(filters);
    return Promise.resolve();
  }

  end(graceful: boolean): Promise<void> {
    this.ended ??= graceful ? 'graceful' : 'forced';
    return Promise.resolve();
  }

  /** CONNACK 0 */
  accept(sessionPresent = false): void {
    this.handlers.connected({ sessionPresent });
  }

  /** The attempt fails before CONNACK 0. */
  fail(err: Error): void {
    this.handlers.closed(err, false);
  }

  /** An established connection ends. */
  drop(err: Error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })): void {
    this.handlers.closed(err, true);
  }

  /** Acknowledges the next `n` QoS 1/2 publishes not yet acknowledged, in order. */
  ack(n = Infinity): number {
    let done = 0;
    while (done < n && this.#acked < this.published.length) {
      const p = this.published[this.#acked++]!;
      if (p.msg.qos === 0) continue;
      p.done?.();
      done++;
    }
    return done;
  }

  /** Payloads sent, as strings. */
  payloads(): string[] {
    return this.published.map((p) => p.msg.payload.toString());
  }

  /** A message from the broker; resolves when the bridge says it has taken it. */
  deliver(topic: string, payload: string, qos: 0 | 1 | 2 = 1, retain = false): Promise<void> {
    return new Promise((resolve) => this.handlers.message({ topic, payload: Buffer.from(payload), qos, retain }, resolve));
  }
}

export class FakeUpstream {
  readonly connections: FakeConnection[] = [];

  readonly connector: UpstreamConnector = (handlers) => {
    const c = new FakeConnection(handlers);
    this.connections.push(c);
    return c;
  };

  get last(): FakeConnection {
    const c = this.connections[this.connections.length - 1];
    if (c === undefined) throw new Error('no connection was opened');
    return c;
  }
}
