import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type HostProcess, spawnOnHost } from './multi-host-process.ts';
import type { Tunnels } from './multi-host-tunnels.ts';
import type { LanHost } from './netns.ts';
import { postgresBinDir } from './postgres-server.ts';
import { createTestBucket, S3_TEST_BUCKET, S3_TEST_CREDENTIALS, S3_TEST_REGION, s3ServerArgv, testS3Client } from './s3-server.ts';

/**
 * The shared services of a multi-host deployment, on one host of a test LAN: Redis, PostgreSQL
 * and the S3-speaking object store, each listening on the host's LAN address only. The other
 * hosts get them as URLs (`env`); the test process reads them as an operator would — Redis and
 * PostgreSQL through their Unix sockets (files, so reachable from the root namespace), the
 * object store through a tunnel.
 */
export interface ServicesHost {
  readonly host: LanHost;
  /** REDIS_URL, DATABASE_URL, VOCALIS_S3_* and the SDK's credentials, as every Vocalis host needs them. */
  readonly env: Readonly<Record<string, string>>;
  /** A client of the Redis (over its Unix socket). Closed by close(). */
  redis(): Redis;
  /** One query on the Vocalis database (over PostgreSQL's Unix socket). */
  sql<Row extends Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<Row[]>;
  /** A client of the object store (through a tunnel). Closed by close(). */
  s3(): S3Client;
  readonly bucket: string;
  /** Redis' data folder on the services host (its AOF files). */
  readonly redisDir: string;
  readonly processes: readonly HostProcess[];
  close(): Promise<void>;
}

const REDIS_PORT = 6379;
const POSTGRES_PORT = 5432;
const S3_PORT = 9000;
const DATABASE = 'vocalis';
const DB_USER = 'vocalis';

export async function startServices(host: LanHost, tunnels: Tunnels): Promise<ServicesHost> {
  const dir = await mkdtemp(join(tmpdir(), 'vmh-svc-'));
  // PostgreSQL runs as postgres: it must pass through to its own folder.
  await chmod(dir, 0o711);
  const processes: HostProcess[] = [];
  const clients: { close(): void }[] = [];
  const close = async () => {
    for (const client of clients.splice(0)) client.close();
    // PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for every client to leave).
    await Promise.all(processes.map((p) => (p.label.endsWith('postgresql') ? p.stop(5000, 'SIGINT') : p.stop(3000))));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [redis, postgres, s3] = await Promise.all([
      startRedis(host, join(dir, 'redis'), processes),
      startPostgres(host, join(dir, 'pg'), processes),
      startObjectStore(host, join(dir, 's3'), processes, tunnels),
    ]);
    return {
      host,
      env: { REDIS_URL: redis.url, DATABASE_URL: postgres.url, ...s3.env },
      redis() {
        const client = new Redis({ path: redis.socket, password: redis.password, maxRetriesPerRequest: 1, lazyConnect: false });
        clients.push({ close: () => client.disconnect() });
        return client;
      },
      async sql<Row extends Record<string, unknown>>(text: string, values: readonly unknown[] = []) {
        const client = new pg.Client({ host: postgres.socketDir, port: POSTGRES_PORT, user: DB_USER, database: DATABASE });
        await client.connect();
        try {
          return (await client.query<Row>(text, [...values])).rows;
        } finally {
          await client.end();
        }
      },
      s3() {
        const client = testS3Client(s3.tunnelEndpoint);
        clients.push({ close: () => client.destroy() });
        return client;
      },
      bucket: S3_TEST_BUCKET,
      redisDir: join(dir, 'redis'),
      processes,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function startRedis(host: LanHost, dir: string, processes: HostProcess[]) {
  await mkdirPrivate(dir);
  const password = randomBytes(16).toString('hex');
  const socket = join(dir, 'redis.sock');
  const config = [
    `bind ${host.address}`,
    `port ${REDIS_PORT}`,
    `unixsocket ${socket}`,
    'unixsocketperm 700',
    `dir ${dir}`,
    `requirepass ${password}`,
    // As the embedded Redis runs: AOF on, no RDB snapshots (revocation rewrites the AOF).
    'appendonly yes',
    'save ""',
  ].join('\n');
  // The password stays off the command line (ps shows it to every user).
  await writeFile(join(dir, 'redis.conf'), `${config}\n`, { mode: 0o600 });
  const redis = spawnOnHost(host, 'redis', 'redis-server', [join(dir, 'redis.conf')]);
  processes.push(redis);
  await redis.waitForLine(/Ready to accept connections/, 20_000);
  return { url: `redis://:${password}@${host.address}:${REDIS_PORT}`, socket, password };
}

async function startPostgres(host: LanHost, dir: string, processes: HostProcess[]) {
  const bin = postgresBinDir();
  await mkdirPrivate(dir);
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  await chown(dir, uid, gid);
  const password = randomBytes(12).toString('hex');
  const passwordFile = join(dir, 'password');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await chown(passwordFile, uid, gid);
  const dataDir = join(dir, 'data');
  // initdb touches no network: it runs here, as postgres (the server refuses root).
  execFileSync(
    join(bin, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      DB_USER,
      `--pwfile=${passwordFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C.UTF-8',
    ],
    { uid, gid, stdio: 'pipe', env: { PATH: process.env['PATH'] ?? '', LC_ALL: 'C.UTF-8' } },
  );
  await rm(passwordFile);
  await writeFile(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n');
  await chown(join(dataDir, 'pg_hba.conf'), uid, gid);
  const server = spawnOnHost(
    host,
    'postgresql',
    join(bin, 'postgres'),
    [
      ...['-D', dataDir, '-p', String(POSTGRES_PORT), '-k', dir, '-c', `listen_addresses=${host.address}`],
      // A test server: speed on 2 shared cores, not durability.
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=60'],
    ],
    { user: 'postgres' },
  );
  processes.push(server);
  await server.waitForLine(/database system is ready to accept connections/, 30_000);
  const admin = new pg.Client({ host: dir, port: POSTGRES_PORT, user: DB_USER, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return { url: `postgres://${DB_USER}:${password}@${host.address}:${POSTGRES_PORT}/${DATABASE}`, socketDir: dir };
}

async function startObjectStore(host: LanHost, dir: string, processes: HostProcess[], tunnels: Tunnels) {
  await mkdirPrivate(dir);
  const [program, ...args] = s3ServerArgv({ host: host.address, port: S3_PORT, dir }) as [string, ...string[]];
  const server = spawnOnHost(host, 'object store', program, args);
  processes.push(server);
  await server.waitForLine(/listening on/, 20_000);
  const tunnel = await tunnels.toHost(host, { host: host.address, port: S3_PORT });
  const tunnelEndpoint = `http://${tunnel.host}:${tunnel.port}`;
  await createTestBucket(tunnelEndpoint, S3_TEST_BUCKET);
  return {
    tunnelEndpoint,
    env: {
      VOCALIS_S3_BUCKET: S3_TEST_BUCKET,
      VOCALIS_S3_ENDPOINT: `http://${host.address}:${S3_PORT}`,
      VOCALIS_S3_REGION: S3_TEST_REGION,
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    },
  };
}

async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}
