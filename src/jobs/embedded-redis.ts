import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
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
}

/** What a running instance leaves in its dir so other processes (the CLI) can reuse it. */
interface StateFile {
  pid: number;
  port: number;
  password: string;
}

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
  private readonly options: EmbeddedRedisOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private port = 0;
  private password = '';
  private outputTail = '';
  private readonly killOnExit = (): void => {
    // Last resort when the parent exits without stop(): SIGTERM makes Redis flush the AOF itself.
    this.child?.kill('SIGTERM');
  };

  constructor(options: EmbeddedRedisOptions) {
    this.options = options;
    this.dir = options.dir;
  }

  /** redis://:password@127.0.0.1:port — contains the password: redact before logging. */
  get url(): string {
    if (!this.child) throw new EmbeddedRedisError('embedded Redis is not running');
    return buildUrl(this.port, this.password);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * URL of a live embedded Redis already serving `dir` (started by another process), or
   * null when there is none or its state file is stale.
   */
  static async findRunning(dir: string): Promise<string | null> {
    const state = await readState(dir);
    if (!state || !isProcessAlive(state.pid)) return null;
    const url = buildUrl(state.port, state.password);
    try {
      await pingOnce(url, 1000);
      return url;
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    if (this.child) throw new EmbeddedRedisError('embedded Redis already started');
    // Two servers appending to one AOF would corrupt it.
    if (await EmbeddedRedis.findRunning(this.dir)) {
      throw new EmbeddedRedisError(`another process already runs Redis for ${this.dir}; use EmbeddedRedis.findRunning()`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.password = this.password || randomBytes(24).toString('hex');
    // A port picked free can be taken before redis binds it; retry with a fresh one.
    const tries = this.options.port ? 1 : 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnAndWait(this.options.port ?? this.port ?? 0);
        break;
      } catch (error) {
        const portTaken = this.outputTail.includes('Address already in use');
        if (!portTaken || attempt >= tries) throw error;
        this.port = 0;
      }
    }
    const state: StateFile = { pid: this.pid ?? 0, port: this.port, password: this.password };
    await writeFile(join(this.dir, STATE_FILE), JSON.stringify(state), {
      mode: 0o600,
    });
  }

  /** Graceful SHUTDOWN (flushes the AOF), SIGKILL if it does not exit in time. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      await this.shutdownCommand().catch(() => child.kill('SIGTERM'));
      const timeout = this.options.stopTimeoutMs ?? 10_000;
      if (!(await settlesWithin(this.exited, timeout))) {
        child.kill('SIGKILL');
        await this.exited;
      }
    }
    this.child = undefined;
    process.off('exit', this.killOnExit);
    await removeStateIfOurs(this.dir, child.pid);
  }

  /** Kills the server without a graceful shutdown (tests of crash recovery). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
    this.child = undefined;
    process.off('exit', this.killOnExit);
    await removeStateIfOurs(this.dir, child.pid);
  }

  private async spawnAndWait(requestedPort: number): Promise<void> {
    this.port = requestedPort || (await findFreePort());
    this.outputTail = '';
    const args = [
      '-', // read the rest of the config (the password) from stdin
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--dir', this.dir,
      '--appendonly', 'yes',
      '--appendfsync', this.options.appendfsync ?? 'always',
      '--save', '',
      '--maxmemory-policy', 'noeviction', // BullMQ loses jobs under any eviction policy
      '--daemonize', 'no',
      '--logfile', '',
    ];
    const child = spawn(this.options.binary ?? 'redis-server', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => {});
    const keepTail = (chunk: Buffer): void => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    child.stdin?.end(`requirepass ${this.password}\n`);
    // Do not keep the parent alive for Redis' sake: the exit hook stops it instead.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    process.on('exit', this.killOnExit);

    const url = buildUrl(this.port, this.password);
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
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
          if ((error as { code?: unknown }).code === 'ENOENT') throw new Error(`cannot run ${this.options.binary ?? 'redis-server'}: not installed?`);
          lastError = error instanceof Error ? error.message : String(error);
        }
        if (Date.now() > deadline) throw new Error(`no PING reply within ${this.options.startTimeoutMs ?? 10_000} ms (${lastError})`);
        await delay(50);
      }
    } catch (error) {
      child.kill('SIGKILL');
      await settlesWithin(this.exited, 2000);
      this.child = undefined;
      process.off('exit', this.killOnExit);
      const reason = error instanceof Error ? error.message : String(error);
      throw new EmbeddedRedisError(`embedded Redis failed to start in ${this.dir}: ${reason}\n--- redis-server output (tail) ---\n${this.outputTail.trim()}`);
    }
  }

  private async shutdownCommand(): Promise<void> {
    const client = new Redis(buildUrl(this.port, this.password), {
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
}

function buildUrl(port: number, password: string): string {
  return `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
}

async function readState(dir: string): Promise<StateFile | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { pid, port, password } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof port !== 'number' || typeof password !== 'string') return null;
    return { pid, port, password };
  } catch {
    return null;
  }
}

async function removeStateIfOurs(dir: string, pid: number | undefined): Promise<void> {
  const state = await readState(dir);
  if (state && state.pid === pid) await rm(join(dir, STATE_FILE), { force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but owned by someone else.
    return (error as { code?: unknown }).code === 'EPERM';
  }
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
