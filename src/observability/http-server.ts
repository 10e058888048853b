import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Named checks; each resolves true when healthy. */
  checks(): Promise<Record<string, boolean>>;
}

/** `/healthz` and `/metrics` on a local port, for the operator's monitoring. */
export class OperatorHttpServer {
  readonly #server: Server;

  constructor(registry: Registry, health: HealthSource) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
      } else if (path === '/healthz') {
        health.checks().then(
          (checks) => {
            const ok = Object.values(checks).every(Boolean);
            res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, checks }));
          },
          () => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false })),
        );
      } else if (path === '/metrics') {
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
