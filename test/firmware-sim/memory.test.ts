/** A node on src/transport's in-memory medium: no sockets, the hub plays the gateway. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/codec/index.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { connectMemoryLink } from '../../firmware-sim/links/memory.js';
import { SimNode } from '../../firmware-sim/node.js';

describe('SimNode on the memory transport', () => {
  it('connects, publishes QoS 1 and finds the hub by SEARCHGW', async () => {
    const hub = new MemoryTransport();
    await hub.open();
    const seen: string[] = [];
    hub.on('frame', (peer, frame) => {
      const p = decode(frame);
      if (p instanceof Error) return;
      seen.push(`${peer.key} ${p.type}`);
      if (p.type === 'SEARCHGW') void hub.broadcast(encode({ type: 'GWINFO', gwId: 5 }));
      if (p.type === 'CONNECT') void hub.send(peer, encode({ type: 'CONNACK', returnCode: 0 }));
      if (p.type === 'PUBLISH') void hub.send(peer, encode({ type: 'PUBACK', topicId: 1, msgId: p.msgId, returnCode: 0 }));
    });
    const node = new SimNode({ link: connectMemoryLink(hub, 'dev-1'), discover: { repeatMs: 100, timeoutMs: 1000 }, reconnect: false });
    try {
      await node.connect({ clientId: 'dev-1', keepAlive: 0 });
      await node.publish({ topicId: 1, payload: '{"t":20.1}', qos: 1 });
      assert.deepEqual(seen, ['mem:dev-1 SEARCHGW', 'mem:dev-1 CONNECT', 'mem:dev-1 PUBLISH']);
    } finally {
      await node.close();
      await hub.close();
    }
  });
});
