import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * A real S3-speaking server for tests: s3rver (an npm devDependency, so `npm ci` brings it on a
 * fresh machine), run as a child process on its own data folder. It stores objects on disk and
 * answers the S3 REST API the store uses (Put/Get/Head/Delete, DeleteObjects, ListObjectsV2);
 * it refuses an unknown access key id but does not verify SigV4 signatures. It does not decode
 * `aws-chunked` uploads (the SDK's default for streamed bodies) and keeps a streamed PutObject cut
 * short as a short object: `S3BlobStore` sends whole parts with `requestChecksumCalculation:
 * 'WHEN_REQUIRED'`, so neither reaches it.
 *
 * The command line is exported too (`s3ServerArgv`), so a harness can start the server inside
 * another network namespace and use `waitForS3`/`createTestBucket` from there.
 */

/** s3rver's built-in account: requests must name its access key id. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3_TEST_REGION = 'us-east-1';
export const S3_TEST_BUCKET = 'vocalis-test';

export interface S3ServerArgvOptions {
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 (the default) lets the system pick a free one, printed on the server's stdout. */
  readonly port?: number;
  /** The folder the server keeps its buckets in. */
  readonly dir: string;
}

/** The argv (program first) that runs the server as a separate process, e.g. under `ip netns exec`. */
export function s3ServerArgv(options: S3ServerArgvOptions): string[] {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  // s3rver encrypts ListObjects continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider:
  // without it, listing past 1000 objects fails with an InternalError.
  return [
    process.execPath,
    '--openssl-legacy-provider',
    bin,
    '--silent',
    '--no-vhost-buckets',
    '-d',
    options.dir,
    '-a',
    options.host ?? '127.0.0.1',
    '-p',
    String(options.port ?? 0),
  ];
}

export interface TestS3 {
  /** `http://host:port` */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly dir: string;
  /** The environment a Vocalis process needs to use this server (VOCALIS_S3_* and the SDK's credentials). */
  readonly env: Readonly<Record<string, string>>;
  /** A client signed with the test credentials, for tests that look at the bucket directly. */
  client(): S3Client;
  /** Stops the server, keeping its data (for "store down" tests); `start()` brings it back on the same port. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data folder. */
  cleanup(): Promise<void>;
}

export interface StartTestS3Options {
  readonly host?: string;
  readonly port?: number;
  readonly bucket?: string;
  readonly startTimeoutMs?: number;
}

/** Starts s3rver on a free port (or the given host/port) in a temp folder and creates the bucket. */
export async function startTestS3(options: StartTestS3Options = {}): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-s3-'));
  const host = options.host ?? '127.0.0.1';
  const bucket = options.bucket ?? S3_TEST_BUCKET;
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  let child: ChildProcess | null = null;
  let port = options.port ?? 0;
  const clients: S3Client[] = [];
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async (): Promise<void> => {
    const launched = await launch(s3ServerArgv({ host, port, dir: join(dir, 'data') }), timeoutMs);
    child = launched.child;
    port = launched.port;
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
    const endpoint = `http://${urlHost(host)}:${port}`;
    await createTestBucket(endpoint, bucket);
    return {
      endpoint,
      host,
      port,
      bucket,
      dir,
      env: {
        VOCALIS_S3_BUCKET: bucket,
        VOCALIS_S3_ENDPOINT: endpoint,
        VOCALIS_S3_REGION: S3_TEST_REGION,
        AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      },
      client() {
        const client = testS3Client(endpoint);
        clients.push(client);
        return client;
      },
      stop,
      start,
      async cleanup() {
        for (const client of clients.splice(0)) client.destroy();
        await stop();
        process.removeListener('exit', killOnExit);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop('SIGKILL');
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A client for the test server (path-style, the test credentials, plain bodies). */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: S3_TEST_REGION,
    forcePathStyle: true,
    credentials: { ...S3_TEST_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates `bucket`, retrying until the server answers (for a server started elsewhere). */
export async function createTestBucket(endpoint: string, bucket: string = S3_TEST_BUCKET, timeoutMs = 15_000): Promise<void> {
  const client = testS3Client(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        return;
      } catch (error) {
        const name = error instanceof Error ? error.name : '';
        if (name === 'BucketAlreadyExists' || name === 'BucketAlreadyOwnedByYou') return;
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/** Waits until a server started elsewhere (e.g. in a network namespace) accepts requests. */
export const waitForS3 = (endpoint: string, timeoutMs?: number): Promise<void> => createTestBucket(endpoint, S3_TEST_BUCKET, timeoutMs);

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Spawns the server and reads the port from its "listening on host:port" line. */
function launch(argv: readonly string[], timeoutMs: number): Promise<{ child: ChildProcess; port: number }> {
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start: ${reason}\n--- output ---\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${timeoutMs} ms`), timeoutMs);
    const onData = (data: Buffer) => {
      output += data.toString('utf8');
      const match = /listening on \S*?:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeListener('error', onError);
        child.removeListener('exit', onExit);
        child.stdout?.removeListener('data', onData);
        child.stdout?.resume(); // keep draining so the pipe never fills
        resolve({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (data: Buffer) => {
      output += data.toString('utf8');
    });
    const onError = (error: Error) => fail(error.message);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${signal ?? code})`);
    child.once('error', onError);
    child.once('exit', onExit);
  });
}
