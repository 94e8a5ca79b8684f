/**
 * The one place the cluster harness picks its UDP front end. Today: Debian's nginx stream module
 * (consistent hash of the device's address and port). To try another front end (one that wraps
 * each datagram in MQTT-SN 1.2 §5.5 forwarder encapsulation, say), add a case here: it starts in
 * front of `instances` and says which transport entry each gateway instance needs behind it.
 */
import { freeUdpPort } from '../helpers/ports.js';
import { Nginx, udpFrontEndBlock, type Endpoint } from './nginx.js';

export interface FrontEnd {
  name: string;
  listen: Endpoint;
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface FrontEndChoice {
  name: string;
  /** the gateway's transports[] entry for an instance behind this front end */
  transportFor(instance: Endpoint): Record<string, unknown>;
  start(instances: readonly Endpoint[], proxyTimeoutSec: number): Promise<FrontEnd>;
}

const NGINX: FrontEndChoice = {
  name: 'nginx-stream',
  transportFor: (i) => ({ type: 'udp', host: i.host, port: i.port }),
  async start(instances, proxyTimeoutSec) {
    const listen = { host: '127.0.0.1', port: await freeUdpPort() };
    const n = await Nginx.start(udpFrontEndBlock(listen, instances, proxyTimeoutSec));
    return { name: 'nginx-stream', listen, pid: n.pid, stop: () => n.stop() };
  },
};

/** MQTTSN_CLUSTER_FRONTEND picks one by name; nginx-stream is the default. */
export function frontEndChoice(name = process.env.MQTTSN_CLUSTER_FRONTEND ?? 'nginx-stream'): FrontEndChoice {
  const all = [NGINX];
  const found = all.find((f) => f.name === name);
  if (found === undefined) throw new Error(`MQTTSN_CLUSTER_FRONTEND=${name} is not a front end this harness knows; expected one of ${all.map((f) => f.name).join(', ')}`);
  return found;
}
