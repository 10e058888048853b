import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A byte relay between two endpoints, TCP or Unix socket. The multi-host tests use it to cross
 * between network namespaces without giving the root namespace a leg on the test LAN: a Unix
 * socket is a file, reachable from every namespace, so a relay inside a host's namespace and
 * one in the test process meet at a socket path (see multi-host-tunnels.ts).
 */
export type Endpoint = { readonly path: string } | { readonly host: string; readonly port: number };

export interface Relay {
  /** The listening endpoint (its port resolved when 0 was asked for). */
  readonly listening: Endpoint;
  close(): Promise<void>;
}

export async function startRelay(listen: Endpoint, target: Endpoint): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = 'path' in target ? createConnection(target.path) : createConnection(target.port, target.host);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      // Either side failing ends both: the peer sees the connection drop, as across a real network.
      socket.once('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in listen) server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  const listening: Endpoint = 'path' in listen ? listen : { host: listen.host, port: typeof address === 'object' && address ? address.port : listen.port };
  return {
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
