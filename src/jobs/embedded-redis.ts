import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { currentProcess, isRunning, livenessOf, parseProcessIdentity, type ProcessIdentity } from './process-identity.ts';
import { pingOnce } from './redis-connection.ts';

/**
 * A private redis-server child for `npm start` and the CLI when REDIS_URL is unset.
 *
 * Transport: TCP on 127.0.0.1 with a random port rather than a unix socket, so the
 * same `redis://` URL works for every client (BullMQ, `npm run worker` on this host,
 * redis-cli) and deep data dirs cannot hit the 107-byte socket path limit. Any local
 * user can reach a loopback port, so the server also gets a random password, fed on
 * stdin (never argv, which `ps` shows) and kept in a 0600 state file.
 *
 * Durability: AOF with `appendfsync always`. Every write is fsynced before Redis
 * replies, so an enqueue the service acknowledged survives even a crash of Redis or
 * the host, not just a graceful restart (which `everysec` would also survive, since
 * SHUTDOWN flushes the AOF). Fine-tune traffic is a few writes a second, so the
 * fsync cost is irrelevant. RDB snapshots are off (`save ""`): the AOF is the one
 * source of truth and a fork per snapshot buys nothing here.
 *
 * Process group: for the service (`ownProcessGroup`), redis-server runs in a session of
 * its own, so a signal to the service's process group (Ctrl-C, a supervisor) reaches
 * only the service, which stops Redis last, after everything that still writes to it.
 * Owners that do not handle signals (CLI commands, tests) keep it in their group, so a
 * Ctrl-C that ends them ends Redis too instead of orphaning it. The state file names
 * the owning process; a start that finds a live Redis whose owner died (SIGKILL, OOM)
 * takes it over instead of leaving it running for ever (see `inspect`, `takeOver`).
 */
export interface EmbeddedRedisOptions {
  /** Directory holding the AOF and the state file; created if missing (e.g. `<dataDir>/redis`). */
  dir: string;
  /** Binary to run (default `redis-server` from PATH). */
  binary?: string;
  /** Port to bind; default: a free one picked at start. */
  port?: number;
  /** How long start() waits for PING (default 10 s). */
  startTimeoutMs?: number;
  /** How long stop() waits for a graceful SHUTDOWN before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
  /** AOF fsync policy (default 'always', see above). */
  appendfsync?: 'always' | 'everysec';
  /** Its own session and process group, out of reach of signals to ours (default false; see above). */
  ownProcessGroup?: boolean;
}

/** What a running instance leaves in its dir so other processes (the CLI) can reuse it. */
interface StateFile {
  pid: number;
  port: number;
  password: string;
  /** The process that started it and stops it; null in files written before owners were recorded. */
  owner: ProcessIdentity | null;
}

/** What a data directory's state file leads to. */
export type ExistingRedis =
  | { readonly status: 'none' }
  /** Served by a live process (a running service, or a CLI command): use it, never stop it. */
  | { readonly status: 'shared'; readonly url: string; readonly redisPid: number; readonly owner: ProcessIdentity | null }
  /** Still answering, but the process that started it is gone: nobody will ever stop it. */
  | {
      readonly status: 'orphaned';
      readonly url: string;
      readonly redisPid: number;
      readonly owner: ProcessIdentity;
      readonly port: number;
      readonly password: string;
    };

const STATE_FILE = 'embedded-redis.json';
const TAIL_BYTES = 4000;

export class EmbeddedRedisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedRedisError';
  }
}

export class EmbeddedRedis {
  readonly dir: string;
  readonly #options: EmbeddedRedisOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #port = 0;
  #password = '';
  #outputTail = '';
  readonly #killOnExit = (): void => {
    // Last resort when the parent exits without stop(): SIGTERM makes Redis flush the AOF itself.
    this.#child?.kill('SIGTERM');
  };

  constructor(options: EmbeddedRedisOptions) {
    this.#options = options;
    this.dir = options.dir;
  }

  /** redis://:password@127.0.0.1:port — contains the password: redact before logging. */
  get url(): string {
    if (!this.#child) throw new EmbeddedRedisError('embedded Redis is not running');
    return buildUrl(this.#port, this.#password);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * URL of a live embedded Redis already serving `dir` (started by another process, or
   * orphaned), or null when there is none or its state file is stale.
   */
  static async findRunning(dir: string): Promise<string | null> {
    const existing = await EmbeddedRedis.inspect(dir);
    return existing.status === 'none' ? null : existing.url;
  }

  /** Whether `dir` is served by a live Redis, and whether the process that owns it still runs. */
  static async inspect(dir: string): Promise<ExistingRedis> {
    const state = await readState(dir);
    if (!state || !isRunning(state.pid)) return { status: 'none' };
    const url = buildUrl(state.port, state.password);
    try {
      await pingOnce(url, 1000);
    } catch {
      return { status: 'none' };
    }
    if (state.owner && livenessOf(state.owner) === 'dead') {
      return { status: 'orphaned', url, redisPid: state.pid, owner: state.owner, port: state.port, password: state.password };
    }
    return { status: 'shared', url, redisPid: state.pid, owner: state.owner };
  }

  /**
   * Stops an orphaned Redis gracefully (SHUTDOWN writes the AOF out) and starts this
   * instance on the same AOF, port and password, so nothing acknowledged is lost and
   * clients still connected to it (a worker on this host) reconnect to the same URL.
   */
  async takeOver(orphan: Extract<ExistingRedis, { status: 'orphaned' }>): Promise<void> {
    if (this.#child) throw new EmbeddedRedisError('embedded Redis already started');
    await shutdownServer(orphan.url).catch(() => undefined);
    const stopped = await waitUntil(() => !isRunning(orphan.redisPid), this.#options.stopTimeoutMs ?? 10_000);
    if (!stopped) {
      process.kill(orphan.redisPid, 'SIGKILL');
      await waitUntil(() => !isRunning(orphan.redisPid), 2000);
    }
    this.#port = orphan.port;
    this.#password = orphan.password;
    await this.start();
  }

  async start(): Promise<void> {
    if (this.#child) throw new EmbeddedRedisError('embedded Redis already started');
    // Two servers appending to one AOF would corrupt it.
    if (await EmbeddedRedis.findRunning(this.dir)) {
      throw new EmbeddedRedisError(`another process already runs Redis for ${this.dir}; use EmbeddedRedis.findRunning()`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.#password = this.#password || randomBytes(24).toString('hex');
    // A port picked free can be taken before redis binds it; retry with a fresh one.
    const tries = this.#options.port ? 1 : 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#spawnAndWait(this.#options.port ?? this.#port ?? 0);
        break;
      } catch (error) {
        const portTaken = this.#outputTail.includes('Address already in use');
        if (!portTaken || attempt >= tries) throw error;
        this.#port = 0;
      }
    }
    const state: StateFile = { pid: this.pid ?? 0, port: this.#port, password: this.#password, owner: currentProcess() };
    await writeFile(join(this.dir, STATE_FILE), JSON.stringify(state), {
      mode: 0o600,
    });
  }

  /** Graceful SHUTDOWN (flushes the AOF), SIGKILL if it does not exit in time. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      await this.#shutdownCommand().catch(() => child.kill('SIGTERM'));
      const timeout = this.#options.stopTimeoutMs ?? 10_000;
      if (!(await settlesWithin(this.#exited, timeout))) {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    this.#child = undefined;
    process.off('exit', this.#killOnExit);
    await removeStateIfOurs(this.dir, child.pid);
  }

  /** Kills the server without a graceful shutdown (tests of crash recovery). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill(signal);
    await this.#exited;
    this.#child = undefined;
    process.off('exit', this.#killOnExit);
    await removeStateIfOurs(this.dir, child.pid);
  }

  async #spawnAndWait(requestedPort: number): Promise<void> {
    this.#port = requestedPort || (await findFreePort());
    this.#outputTail = '';
    const args = [
      '-', // read the rest of the config (the password) from stdin
      '--port',
      String(this.#port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'yes',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      this.#options.appendfsync ?? 'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction', // BullMQ loses jobs under any eviction policy
      '--daemonize',
      'no',
      '--logfile',
      '',
    ];
    // detached: a session and process group of its own, out of reach of signals to ours.
    const child = spawn(this.#options.binary ?? 'redis-server', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: this.#options.ownProcessGroup ?? false });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => {});
    const keepTail = (chunk: Buffer): void => {
      this.#outputTail = (this.#outputTail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    child.stdin?.end(`requirepass ${this.#password}\n`);
    // Do not keep the parent alive for Redis' sake: the exit hook stops it instead.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    process.on('exit', this.#killOnExit);

    const url = buildUrl(this.#port, this.#password);
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 10_000);
    let lastError = 'no answer yet';
    try {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) during start`);
        }
        try {
          await Promise.race([pingOnce(url, 500), spawnError]);
          return;
        } catch (error) {
          if (error instanceof Error && 'code' in error && error.code === 'ENOENT')
            throw new Error(`cannot run ${this.#options.binary ?? 'redis-server'}: not installed?`);
          lastError = error instanceof Error ? error.message : String(error);
        }
        if (Date.now() > deadline) throw new Error(`no PING reply within ${this.#options.startTimeoutMs ?? 10_000} ms (${lastError})`);
        await delay(50);
      }
    } catch (error) {
      child.kill('SIGKILL');
      await settlesWithin(this.#exited, 2000);
      this.#child = undefined;
      process.off('exit', this.#killOnExit);
      const reason = error instanceof Error ? error.message : String(error);
      throw new EmbeddedRedisError(`embedded Redis failed to start in ${this.dir}: ${reason}\n--- redis-server output (tail) ---\n${this.#outputTail.trim()}`);
    }
  }

  #shutdownCommand(): Promise<void> {
    return shutdownServer(buildUrl(this.#port, this.#password));
  }
}

/** SHUTDOWN: Redis writes the AOF out and exits. */
async function shutdownServer(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    // The connection drops when the server exits, so the reply is an error by design.
    await client.call('SHUTDOWN').catch(() => {});
  } finally {
    client.disconnect();
  }
}

function buildUrl(port: number, password: string): string {
  return `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
}

async function readState(dir: string): Promise<StateFile | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { pid, port, password, owner } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof port !== 'number' || typeof password !== 'string') return null;
    return { pid, port, password, owner: parseProcessIdentity(owner) };
  } catch {
    return null;
  }
}

async function removeStateIfOurs(dir: string, pid: number | undefined): Promise<void> {
  const state = await readState(dir);
  if (state && state.pid === pid) await rm(join(dir, STATE_FILE), { force: true });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await delay(25);
  }
  return true;
}

/** A port the kernel considers free on 127.0.0.1 right now. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Whether `promise` settles within `ms`; the timer is cleared so it never holds the process. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
