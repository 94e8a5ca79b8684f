/** Shared by the simulator's tests: nodes on real UDP sockets, closed after each test. */
import { after, afterEach, before } from 'node:test';
import { parseUdpUrl } from '../../firmware-sim/link.js';
import { UdpLink } from '../../firmware-sim/links/udp.js';
import { SimNode, type SimNodeOptions } from '../../firmware-sim/node.js';
import type { Received, ScriptedGateway } from './scripted-gateway.js';

export class NodePool {
  readonly nodes: SimNode[] = [];

  /** A node with its own socket toward `url`; fast retries unless told otherwise. */
  async node(url: string, options: Partial<SimNodeOptions> = {}): Promise<SimNode> {
    const link = await UdpLink.open({ gateway: parseUdpUrl(url) });
    const node = new SimNode({ retryMs: 300, maxRetries: 2, reconnect: false, ...options, link });
    this.nodes.push(node);
    return node;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((n) => n.close()));
  }
}

/** Answers the CONNECT of a node with CONNACK 0x00 and waits for `connect` to resolve. */
export async function connectNode(gw: ScriptedGateway, node: SimNode, clientId = 'node-1', keepAlive = 0): Promise<Received> {
  const done = node.connect({ clientId, keepAlive });
  const c = await gw.next('CONNECT');
  await gw.send(c, { type: 'CONNACK', returnCode: 0 });
  await done;
  return c;
}

/**
 * A suite's hooks around one scripted gateway: started before the tests, nodes closed and queue
 * emptied after each, closed after all. Read `gw` from a test or a later hook.
 */
export function withScriptedGateway<P extends { type: string }>(start: () => Promise<ScriptedGateway<P>>, pool: NodePool): { readonly gw: ScriptedGateway<P> } {
  const suite = {} as { gw: ScriptedGateway<P> };
  before(async () => {
    suite.gw = await start();
  });
  afterEach(async () => {
    await pool.closeAll();
    suite.gw.auto = undefined;
    suite.gw.clear();
  });
  after(async () => {
    await suite.gw.close();
  });
  return suite;
}
