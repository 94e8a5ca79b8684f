/**
 * The one place the cluster harness picks its UDP front end (MQTTSN_CLUSTER_FRONTEND):
 *
 * - `nginx-stream` (default): Debian's nginx stream module, consistent hash of the device's
 *   address and port; the instances see nginx's address.
 * - `forwarder`: this project's front end (src/frontend/front-end.ts), run in this process:
 *   rendezvous hash over the instances alive, every datagram wrapped in MQTT-SN 1.2 §5.5 forwarder
 *   encapsulation carrying the device's address; the instances list it in `frontEnds`.
 *
 * A choice says what each instance's transport entry needs, then starts in front of the
 * instances on a port it picks as late as it can (a port picked early can be taken meanwhile).
 */
import { startFrontEnd, type FrontEndStats } from '../../src/frontend/front-end.js';
import { freeUdpPort } from '../helpers/ports.js';
import { Nginx, udpFrontEndBlock, type Endpoint } from './nginx.js';

export interface FrontEnd {
  name: string;
  listen: Endpoint;
  /** times the front end took an instance out of its hash (sampled), where it says */
  takenOut?(): number;
  /** whether each instance is in its hash now, where it says */
  instancesUp?(): boolean[];
  /** its counters, where it has them (this project's front end) */
  stats?(): FrontEndStats;
  stop(): Promise<void>;
}

export interface FrontEndPlan {
  name: string;
  /** the gateway's transports[] entry for an instance behind this front end */
  transportFor(instance: Endpoint): Record<string, unknown>;
  start(instances: readonly Endpoint[], proxyTimeoutSec: number): Promise<FrontEnd>;
}

const HOST = '127.0.0.1';

const CHOICES: Record<string, FrontEndPlan> = {
  'nginx-stream': {
    name: 'nginx-stream',
    transportFor: (i) => ({ type: 'udp', host: i.host, port: i.port }),
    async start(instances, proxyTimeoutSec) {
      // One more try when the port was taken between picking and nginx's bind.
      for (let attempt = 1; ; attempt++) {
        const listen = { host: HOST, port: await freeUdpPort(HOST) };
        try {
          const n = await Nginx.start(udpFrontEndBlock(listen, instances, proxyTimeoutSec));
          return { name: 'nginx-stream', listen, stop: () => n.stop() };
        } catch (e) {
          if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
        }
      }
    },
  },
  forwarder: {
    name: 'forwarder',
    // The instances trust the front end's address (any port): its node ids carry the devices' addresses.
    transportFor: (i) => ({ type: 'udp', host: i.host, port: i.port, frontEnds: [HOST] }),
    async start(instances) {
      // It keeps nothing per device, so it has no proxy timeout to set; port 0: it binds a free one.
      const fe = await startFrontEnd({ host: HOST, port: 0, instances });
      // Sampled: an instance that goes from in to out of the hash (dead, or too busy to answer probes).
      let last = fe.instancesUp();
      let out = 0;
      const sampler = setInterval(() => {
        const now = fe.instancesUp();
        out += now.filter((up, i) => !up && last[i] === true).length;
        last = now;
      }, 100);
      return {
        name: 'forwarder',
        listen: { host: HOST, port: fe.port },
        takenOut: () => out,
        instancesUp: () => fe.instancesUp(),
        stats: () => fe.stats(),
        stop: async () => {
          clearInterval(sampler);
          await fe.close();
        },
      };
    },
  },
};

/** MQTTSN_CLUSTER_FRONTEND picks one by name; nginx-stream is the default. */
export function planFrontEnd(name: string = process.env.MQTTSN_CLUSTER_FRONTEND ?? 'nginx-stream'): FrontEndPlan {
  const plan = CHOICES[name];
  if (plan === undefined) throw new Error(`MQTTSN_CLUSTER_FRONTEND=${name} is not a front end this harness knows; expected one of ${Object.keys(CHOICES).join(', ')}`);
  return plan;
}
