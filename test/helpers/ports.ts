/** Loopback ports picked at run time, for tests that start servers and gateways. */
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A TCP port that was free a moment ago. */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  srv.listen(0, host);
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.bind(0, host);
  await once(s, 'listening');
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
