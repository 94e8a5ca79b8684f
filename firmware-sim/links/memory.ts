/**
 * A node on the in-memory medium of src/transport: the gateway under test holds the
 * `MemoryTransport` hub, each node one `MemoryEndpoint`. No sockets, delivery on the microtask
 * queue: protocol tests of a gateway with simulated nodes run in milliseconds.
 */
import type { MemoryEndpoint, MemoryTransport } from '../../src/transport/memory.js';
import type { Link } from '../link.js';

/** Wraps a client endpoint of the memory medium as a node's link. */
export function memoryLink(endpoint: MemoryEndpoint): Link {
  return {
    name: endpoint.name,
    send: (frame) => endpoint.send(endpoint.gateway, frame),
    broadcast: (frame) => endpoint.broadcast(frame),
    onFrame: (cb) => {
      endpoint.on('frame', (peer, frame) => cb(frame, peer.key));
    },
    close: () => endpoint.close(),
  };
}

/** A new endpoint on `hub` (id `mem:<id>` as the gateway sees it) wrapped as a link. */
export function connectMemoryLink(hub: MemoryTransport, id?: string): Link {
  return memoryLink(hub.connect(id));
}
