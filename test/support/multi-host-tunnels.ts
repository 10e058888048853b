import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostProcess, spawnNodeOnHost } from './multi-host-process.ts';
import { type Relay, startRelay } from './multi-host-relay.ts';
import type { LanHost } from './netns.ts';

export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Crossings between the test process (root namespace) and the hosts of a test LAN, each a pair
 * of relays meeting at a Unix socket: one in the test process, one running inside the host's
 * namespace. The test process reads the services (Redis, PostgreSQL, the object store) as an
 * operator would; a bot host reaches the fake chat platform as if over the internet.
 */
export class Tunnels {
  readonly #dir: string;
  readonly #relays: Relay[] = [];
  readonly #processes: HostProcess[] = [];
  #count = 0;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(): Promise<Tunnels> {
    // Short: a socket path must fit in 107 bytes.
    return new Tunnels(await mkdtemp(join(tmpdir(), 'vmh-')));
  }

  /** `target`, as `host` sees it (its LAN address, or its own loopback), at a 127.0.0.1 port of the test process. */
  async toHost(host: LanHost, target: TcpAddress): Promise<TcpAddress> {
    const path = this.#socketPath();
    await this.#hostRelay(host, { path }, target);
    const relay = await startRelay({ host: '127.0.0.1', port: 0 }, { path });
    this.#relays.push(relay);
    const listening = relay.listening as TcpAddress;
    return { host: listening.host, port: listening.port };
  }

  /** A 127.0.0.1 port of the test process (a fake platform's server) at the same port of `host`'s loopback. */
  async fromHost(host: LanHost, target: TcpAddress): Promise<void> {
    const path = this.#socketPath();
    this.#relays.push(await startRelay({ path }, target));
    await this.#hostRelay(host, { host: '127.0.0.1', port: target.port }, { path });
  }

  async close(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.stop(1000)));
    await Promise.all(this.#relays.map((r) => r.close()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  #socketPath(): string {
    return join(this.#dir, `${++this.#count}.sock`);
  }

  async #hostRelay(host: LanHost, listen: { path: string } | TcpAddress, target: { path: string } | TcpAddress): Promise<void> {
    const relay = spawnNodeOnHost(host, 'relay', 'test/multi-host/fixtures/relay-main.ts', [JSON.stringify({ listen, target })]);
    this.#processes.push(relay);
    await relay.waitForLine(/^relay ready/, 20_000);
  }
}
