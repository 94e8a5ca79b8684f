/**
 * The whole deployment on loopback, as the cluster test and bench use it: the NATS cluster, a TCP
 * balancer in front of its MQTT listeners (the gateway takes one upstream url), the gateway
 * instances in transparent mode, and the UDP front end before them. `stop()` ends every process
 * this started, by PID, in reverse order.
 */
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { planFrontEnd, type FrontEnd } from './front-end.js';
import { GatewayInstance } from './gateway-instance.js';
import { NatsCluster } from './nats-cluster.js';
import { Nginx, tcpBalancerBlock } from './nginx.js';

export interface Stack {
  cluster: NatsCluster;
  brokerUrl: string;
  instances: GatewayInstance[];
  front: FrontEnd;
  stop(): Promise<void>;
}

/** `frontEnd`: a front end by name (test/cluster/front-end.ts), for a test of one; else MQTTSN_CLUSTER_FRONTEND's. */
export async function startStack(o: { instances: number; brokerNodes: number; proxyTimeoutSec: number; extra?: Record<string, unknown>; frontEnd?: string }): Promise<Stack> {
  const choice = planFrontEnd(o.frontEnd);
  const cleanup: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  };
  try {
    const cluster = await NatsCluster.start(o.brokerNodes);
    cleanup.push(() => cluster.stop());
    const balancer = { host: '127.0.0.1', port: await freeTcpPort() };
    const lb = await Nginx.start(tcpBalancerBlock(balancer, cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.mqttPort }))));
    cleanup.push(() => lb.stop());
    const brokerUrl = `mqtt://${balancer.host}:${balancer.port}`;
    const instances: GatewayInstance[] = [];
    cleanup.push(async () => {
      await Promise.all(instances.map((i) => i.stop()));
    });
    for (let i = 1; i <= o.instances; i++) {
      const udp = { host: '127.0.0.1', port: await freeUdpPort() };
      instances.push(await GatewayInstance.start({ gatewayId: i, udp, httpPort: await freeTcpPort(), transport: choice.transportFor(udp), brokerUrl, clientIdPrefix: 'fleet-', extra: o.extra }));
    }
    const front = await choice.start(instances.map((i) => i.options.udp), o.proxyTimeoutSec);
    cleanup.push(() => front.stop());
    return { cluster, brokerUrl, instances, front, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
