/**
 * One connection to the upstream broker, as the bridge sees it. A connection is used once: it is
 * opened, lives, and reports its end once; the bridge opens a new one on its own schedule. That
 * keeps backoff, queueing and re-sending in the bridge (one owner), and lets tests drive the
 * bridge with a scripted double instead of a broker.
 */

import type { Message, QoS } from '../message.js';

export type { Message, QoS };

export interface UpstreamHandlers {
  /** CONNACK 0 arrived. */
  connected(info: { sessionPresent: boolean }): void;
  /**
   * A message from the broker. `done` is called once the receiver is finished with it (the
   * aggregating bridge: taken in; transparent: the device acknowledged it, or it was dropped);
   * the broker's PUBACK waits for it, so nothing is acknowledged upstream before that.
   * Messages arrive one at a time, in order.
   */
  message(msg: Message, done: () => void): void;
  /** The attempt failed or the connection ended; last call, exactly once (unless `end` came first). */
  closed(err: Error | undefined, established: boolean): void;
}

export interface UpstreamConnection {
  /**
   * Sends a PUBLISH. For QoS 1 and 2 `done` is called once the broker acknowledged it (PUBACK,
   * PUBCOMP), or with an error when it cannot be any more; for QoS 0 it is not called.
   */
  publish(msg: Message, done?: (err?: Error) => void): void;
  /** SUBSCRIBE; resolves with the granted QoS per filter (128: refused). */
  subscribe(subs: ReadonlyArray<{ filter: string; qos: QoS }>): Promise<number[]>;
  /** UNSUBSCRIBE; resolves on UNSUBACK. */
  unsubscribe(filters: readonly string[]): Promise<void>;
  /** Bytes written and still waiting in the socket: QoS 0 is dropped rather than piled up here. */
  readonly writeBacklog: number;
  /** Closes the connection: with DISCONNECT when `graceful`, else at once. `closed` is not called afterwards. */
  end(graceful: boolean): Promise<void>;
}

/** Opens a connection; its outcome comes through the handlers. */
export type UpstreamConnector = (handlers: UpstreamHandlers) => UpstreamConnection;
