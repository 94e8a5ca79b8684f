/**
 * The one place the cluster harness picks its UDP front end (MQTTSN_CLUSTER_FRONTEND):
 *
 * - `nginx-stream` (default): Debian's nginx stream module, consistent hash of the device's
 *   address and port; the instances see nginx's address.
 * - `forwarder`: this project's front end (src/frontend/front-end.ts), run in this process:
 *   rendezvous hash over the instances alive, every datagram wrapped in MQTT-SN 1.2 §5.5 forwarder
 *   encapsulation carrying the device's address; the instances list it in `frontEnds`.
 *
 * A choice first fixes the address devices send to (`plan`), since an instance's transport entry
 * may have to name it, then starts in front of the instances.
 */
import { startFrontEnd } from '../../src/frontend/front-end.js';
import { freeUdpPort } from '../helpers/ports.js';
import { Nginx, udpFrontEndBlock, type Endpoint } from './nginx.js';

export interface FrontEnd {
  name: string;
  listen: Endpoint;
  stop(): Promise<void>;
}

export interface FrontEndPlan {
  name: string;
  listen: Endpoint;
  /** the gateway's transports[] entry for an instance behind this front end */
  transportFor(instance: Endpoint): Record<string, unknown>;
  start(instances: readonly Endpoint[], proxyTimeoutSec: number): Promise<FrontEnd>;
}

const CHOICES: Record<string, (listen: Endpoint) => FrontEndPlan> = {
  'nginx-stream': (listen) => ({
    name: 'nginx-stream',
    listen,
    transportFor: (i) => ({ type: 'udp', host: i.host, port: i.port }),
    async start(instances, proxyTimeoutSec) {
      const n = await Nginx.start(udpFrontEndBlock(listen, instances, proxyTimeoutSec));
      return { name: 'nginx-stream', listen, stop: () => n.stop() };
    },
  }),
  forwarder: (listen) => ({
    name: 'forwarder',
    listen,
    transportFor: (i) => ({ type: 'udp', host: i.host, port: i.port, frontEnds: [`${listen.host}:${listen.port}`] }),
    async start(instances) {
      // It keeps nothing per device, so it has no proxy timeout to set.
      const fe = await startFrontEnd({ host: listen.host, port: listen.port, instances });
      return { name: 'forwarder', listen, stop: () => fe.close() };
    },
  }),
};

/** MQTTSN_CLUSTER_FRONTEND picks one by name; nginx-stream is the default. */
export async function planFrontEnd(name = process.env.MQTTSN_CLUSTER_FRONTEND ?? 'nginx-stream'): Promise<FrontEndPlan> {
  const make = CHOICES[name];
  if (make === undefined) throw new Error(`MQTTSN_CLUSTER_FRONTEND=${name} is not a front end this harness knows; expected one of ${Object.keys(CHOICES).join(', ')}`);
  return make({ host: '127.0.0.1', port: await freeUdpPort() });
}
