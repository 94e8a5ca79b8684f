/**
 * What the node's request conversations (publish, topics, will) may use of their node: the
 * shared machinery, and the state guard that stays with the node's state machine.
 */
import type { Clock } from '../src/clock.js';
import type { Lanes } from './lanes.js';
import type { NodeObserver, NodeState } from './node-types.js';
import type { Requests } from './requests.js';
import type { TopicTable } from './topic-table.js';
import type { Wire } from './wire/index.js';

export interface VerbHost {
  readonly clock: Clock;
  readonly observer: NodeObserver | undefined;
  readonly requests: Requests;
  readonly lanes: Lanes;
  readonly topics: TopicTable;
  /** the node's protocol version on the wire */
  readonly wire: Wire;
  sendFrame(frame: Buffer): void;
  /** throws NOT_CONNECTED (or CLOSED) unless the node is in one of `ok` */
  requireState(ok: NodeState[], what: string): void;
  /** throws CLOSED once the node is closed */
  assertOpen(): void;
  /** the node's REGISTER verb */
  register(name: string): Promise<number>;
}
