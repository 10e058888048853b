import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server (Debian's `postgresql` package) for one test file: initdb into a temp
 * dir, a free port, password auth over TCP. The server refuses to run as root, so as root it runs
 * as the `postgres` user (the package creates it) in a temp dir chowned to that user.
 * `stop()` in `afterAll`; a process exit kills it anyway.
 */
export interface TestPostgres {
  /** `postgres://vocalis:<password>@host:port/vocalis`, the server's first database. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The server's temp dir (data directory under `data/`). */
  readonly dir: string;
  /** A fresh, empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** SIGSTOP/SIGCONT the server and all its backends: connections stay open and nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops the server ('fast' shutdown: open transactions are rolled back) and keeps its data. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** The address to listen on; default 127.0.0.1. `0.0.0.0` (or a namespace's address) for other hosts. */
  readonly host?: string;
  /** The port; default a free one on the host. */
  readonly port?: number;
  /** A prefix for the server's command line, e.g. `['ip', 'netns', 'exec', 'services']`. */
  readonly commandPrefix?: readonly string[];
  /** How long to wait for the server to accept connections; default 30 s. */
  readonly startTimeoutMs?: number;
}

const USER = 'vocalis';

/** Debian installs each major version under /usr/lib/postgresql/<version>/bin; the newest wins. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (version === undefined) throw new Error('PostgreSQL is not installed (Debian package `postgresql`; `npm test` installs it)');
  return join(root, version, 'bin');
}

/** As root the server runs as `postgres`; otherwise as whoever runs the tests. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function freePort(host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host === '0.0.0.0' ? '127.0.0.1' : host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Signals the postmaster and every process it forked. Each backend is its own session leader
 * (PostgreSQL calls setsid), so a process-group signal would not reach them.
 */
function signalServer(dataDir: string, signal: NodeJS.Signals): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after the last ')'.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  // Stop the postmaster first (no new backends), resume it last.
  const order = signal === 'SIGSTOP' ? [postmaster, ...children] : [...children, postmaster];
  for (const pid of order) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const host = options.host ?? '127.0.0.1';
  const owner = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'vocalis-pg-'));
  const dataDir = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(passwordFile, owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  execFileSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', USER, `--pwfile=${passwordFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8'],
    { ...asOwner, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } },
  );
  rmSync(passwordFile);
  // Other hosts (network namespaces) reach it by password too.
  appendFileSync(join(dataDir, 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\n');
  const port = options.port ?? (await freePort(host));
  const base = `postgres://${USER}:${password}@${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const url = `${base}/${USER}`;
  const adminUrl = `${base}/postgres`;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const args = [
      join(bin, 'postgres'),
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      `listen_addresses=${host}`,
      // A test server: durability is not what is tested here, speed on 2 shared cores is.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'shared_buffers=16MB',
      '-c',
      'max_connections=60',
    ];
    // A watchdog shell around the server: when this process dies however it dies, its end of the
    // stdin pipe closes and the shell stops the server (fast shutdown), so no server outlives a test.
    const watchdog = ['sh', '-c', 'exec 3<&0; "$@" </dev/null 3<&- & pid=$!; (read _ <&3; kill -INT $pid 2>/dev/null) & wait $pid', 'postgres-watchdog'];
    const [command, ...rest] = [...(options.commandPrefix ?? []), ...watchdog, ...args];
    if (command === undefined) throw new Error('no command');
    const proc = spawn(command, rest, { ...asOwner, detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    child = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`PostgreSQL did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${log}`)),
        options.startTimeoutMs ?? 30_000,
      );
      proc.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited while starting (${code ?? signal}):\n${log}`));
      });
    });
    proc.removeAllListeners('exit');
    // Keep draining its log so a full pipe never blocks the server.
    proc.stderr?.removeAllListeners('data');
    proc.stderr?.resume();
  };

  const signalGroup = (signal: NodeJS.Signals): void => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };

  const halt = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    signalServer(dataDir, 'SIGCONT');
    // Closing the watchdog's stdin makes it send SIGINT, PostgreSQL's fast shutdown: open
    // transactions rolled back, connections closed.
    proc.stdin?.end();
    const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    child = null;
  };

  const killOnExit = (): void => {
    signalGroup('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  await start();

  let databases = 0;
  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `${base}/${name}`;
  };
  await createDatabase(USER);
  return {
    url,
    host,
    port,
    dir,
    createDatabase: (name = `test_${process.pid}_${++databases}_${randomBytes(3).toString('hex')}`) => createDatabase(name),
    pause: () => signalServer(dataDir, 'SIGSTOP'),
    resume: () => signalServer(dataDir, 'SIGCONT'),
    halt,
    start,
    async stop() {
      await halt();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
