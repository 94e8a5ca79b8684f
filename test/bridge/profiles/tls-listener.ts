/** A TLS listener on a free 127.0.0.1 port for the contract brokers: each secured socket goes to `onSocket`. */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';

export interface TlsListener {
  readonly port: number;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

export async function listenTls(options: tls.TlsOptions, onSocket: (socket: tls.TLSSocket) => void): Promise<TlsListener> {
  const server = tls.createServer(options);
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An aedes broker behind a TLS listener with the server's PEM files; closing closes both. */
export async function serveBrokerOverTls(
  broker: { handle(socket: tls.TLSSocket): unknown; close(cb: () => void): void },
  files: { ca: string; cert: string; key: string },
  more: tls.TlsOptions = {},
): Promise<TlsListener> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
  const listener = await listenTls({ ca, cert, key, ...more }, (socket) => broker.handle(socket));
  return {
    port: listener.port,
    close: async () => {
      await listener.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
