/**
 * The parts of aedes-persistence 11 the gateway uses: its in-memory persistence with the
 * promise interface that aedes 1.2 calls (the package's own typings describe it under another
 * module path), and its abstract test suite.
 */
declare module 'aedes-persistence/asyncPersistence.js' {
  import type { Readable } from 'node:stream';

  /** A packet as aedes stores it (aedes-packet's `Packet`, or a PUBREL in an outgoing queue). */
  export interface StoredPacket {
    cmd: string;
    topic?: string;
    payload?: Buffer | string;
    qos?: 0 | 1 | 2;
    retain?: boolean;
    dup?: boolean;
    messageId?: number;
    brokerId?: string;
    brokerCounter?: number;
    clientId?: string;
    [field: string]: unknown;
  }

  export interface PersistedSubscription {
    topic: string;
    qos: 0 | 1 | 2;
    rh?: number;
    rap?: boolean;
    nl?: boolean;
    subscriptionIdentifier?: number;
  }

  export interface ClientRef {
    id: string;
  }

  export default class MemoryPersistence {
    /** aedes-packet's `Packet`: copies the fields aedes keeps of a packet (counts `broker.counter` up when given a broker). */
    static Packet: new (original: StoredPacket, broker?: { id: string; counter: number }) => StoredPacket;
    constructor(opts?: { broadcastSubscriptions?: boolean });
    readonly broker: { id: string; counter: number };
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: StoredPacket): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    addSubscriptions(client: ClientRef, subs: PersistedSubscription[]): Promise<void>;
    removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>;
    subscriptionsByClient(client: ClientRef): Promise<PersistedSubscription[]>;
    countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
    subscriptionsByTopic(topic: string): Promise<Array<PersistedSubscription & { clientId: string }>>;
    cleanSubscriptions(client: ClientRef): Promise<void>;
    outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void>;
    outgoingEnqueueCombi(subs: ReadonlyArray<{ clientId: string }>, packet: StoredPacket): Promise<void>;
    outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void>;
    outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined>;
    outgoingStream(client: ClientRef): Readable;
    incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void>;
    incomingGetPacket(client: ClientRef, packet: Pick<StoredPacket, 'messageId'>): Promise<StoredPacket>;
    incomingDelPacket(client: ClientRef, packet: Pick<StoredPacket, 'messageId'>): Promise<void>;
    cleanIncoming(client: ClientRef): Promise<void>;
    putWill(client: ClientRef, packet: StoredPacket): Promise<void>;
    getWill(client: ClientRef): Promise<StoredPacket | undefined>;
    delWill(client: ClientRef): Promise<StoredPacket | undefined>;
    streamWill(brokers?: Record<string, unknown>): Readable;
    getClientList(topic: string): Readable;
    destroy(): Promise<void>;
  }
}

declare module 'aedes-persistence/abstract.js' {
  /** Registers aedes-persistence's conformance tests with `test` (node:test's works). */
  export default function abstractPersistence(opts: {
    test: unknown;
    persistence: () => unknown;
    testAsync?: boolean;
    waitForReady?: boolean;
  }): void;
}
