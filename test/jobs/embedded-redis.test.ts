import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Redis } from 'ioredis';
import { EmbeddedRedis, EmbeddedRedisError, findFreePort } from '../../src/jobs/embedded-redis.ts';
import { isRunning } from '../../src/jobs/process-identity.ts';
import { pingOnce, redactRedisUrl, RedisUnreachableError, waitForRedis } from '../../src/jobs/redis-connection.ts';

/** The process group of `pid` (/proc/<pid>/stat field 5). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Another process that starts an embedded Redis on `dir` and keeps running until killed. */
const OWNER_SCRIPT = `
import { EmbeddedRedis } from ${JSON.stringify(new URL('../../src/jobs/embedded-redis.ts', import.meta.url).href)};
await new EmbeddedRedis({ dir: process.argv[1] }).start();
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);
`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('EmbeddedRedis', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vocalis-embedded-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('starts, answers PING with a password, persists to AOF, and stop() leaves no process behind', async () => {
    const dir = join(root, 'a');
    const redis = new EmbeddedRedis({ dir, ownProcessGroup: true });
    await redis.start();
    const pid = redis.pid;
    assert.ok(pid && isAlive(pid));
    assert.match(redis.url, /^redis:\/\/:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
    await pingOnce(redis.url);
    // Without the password the server refuses: other local users cannot use it.
    const noPassword = redis.url.replace(/:[0-9a-f]{48}@/, '');
    await assert.rejects(pingOnce(noPassword), /NOAUTH/);
    assert.ok((await stat(join(dir, 'appendonlydir'))).isDirectory());
    assert.equal(await EmbeddedRedis.findRunning(dir), redis.url);

    // Out of reach of a signal to our process group (Ctrl-C): the owner stops it, last.
    assert.notEqual(processGroupOf(pid), processGroupOf(process.pid));

    await redis.stop();
    assert.equal(isAlive(pid), false, 'redis-server still running after stop()');
    assert.equal(await EmbeddedRedis.findRunning(dir), null);
    await redis.stop(); // idempotent
  });

  it('findRunning ignores a stale state file of a dead server', async () => {
    const dir = join(root, 'b');
    const redis = new EmbeddedRedis({ dir });
    await redis.start();
    const url = redis.url;
    const pid = redis.pid ?? 0;
    // Simulate the owner dying without cleanup: kill the server behind its back.
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.notEqual(url, null);
    assert.equal(await EmbeddedRedis.findRunning(dir), null);
    await redis.stop();
    assert.equal(isAlive(pid), false);
  });

  it('tells a Redis whose owner runs from an orphan, and takes an orphan over with its data, port and password', async () => {
    const dir = join(root, 'orphan');
    const owner = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', OWNER_SCRIPT, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let takenOver: EmbeddedRedis | undefined;
    let orphanPid: number | undefined;
    try {
      for await (const line of createInterface({ input: owner.stdout })) if (line === 'ready') break;
      const shared = await EmbeddedRedis.inspect(dir);
      assert.equal(shared.status, 'shared');
      orphanPid = shared.redisPid;
      assert.equal(shared.owner?.pid, owner.pid);
      const client = new Redis(shared.url);
      await client.set('acknowledged', 'kept');
      client.disconnect();

      owner.kill('SIGKILL');
      await once(owner, 'exit');
      const orphan = await EmbeddedRedis.inspect(dir);
      assert.equal(orphan.status, 'orphaned');
      assert.ok(isAlive(orphan.redisPid), 'the owner died, its redis-server did not');
      assert.equal(orphan.owner.pid, owner.pid);

      takenOver = new EmbeddedRedis({ dir });
      await takenOver.takeOver(orphan);
      assert.equal(isRunning(orphan.redisPid), false, 'the orphan was stopped (exited; init may not have reaped it yet)');
      assert.equal(takenOver.url, orphan.url, 'same port and password: its clients reconnect');
      const after = new Redis(takenOver.url);
      assert.equal(await after.get('acknowledged'), 'kept', 'nothing lost');
      after.disconnect();
      const now = await EmbeddedRedis.inspect(dir);
      assert.equal(now.status, 'shared');
      assert.equal(now.owner?.pid, process.pid, 'this process owns it now and stops it');
    } finally {
      owner.kill('SIGKILL');
      await takenOver?.stop();
      if (orphanPid !== undefined && isAlive(orphanPid)) process.kill(orphanPid, 'SIGKILL');
    }
  });

  it('refuses a second server on the same data dir', async () => {
    const dir = join(root, 'c');
    const first = new EmbeddedRedis({ dir });
    await first.start();
    try {
      // By default it shares our process group: a Ctrl-C that ends a CLI command ends its Redis too.
      assert.equal(processGroupOf(first.pid ?? 0), processGroupOf(process.pid));
      await assert.rejects(new EmbeddedRedis({ dir }).start(), /already runs Redis/);
    } finally {
      await first.stop();
    }
  });

  it('fails to start with a clear error carrying redis-server output', async () => {
    const blocker = new EmbeddedRedis({ dir: join(root, 'd1') });
    await blocker.start();
    const port = Number(new URL(blocker.url).port);
    const clash = new EmbeddedRedis({ dir: join(root, 'd2'), port, startTimeoutMs: 3000 });
    try {
      await assert.rejects(clash.start(), (error: unknown) => {
        assert.ok(error instanceof EmbeddedRedisError);
        assert.match(error.message, /failed to start/);
        assert.match(error.message, /Address already in use/);
        return true;
      });
      assert.equal(clash.pid, undefined);
    } finally {
      await blocker.stop();
    }
  });

  it('keeps data across a restart on the same dir', async () => {
    const dir = join(root, 'e');
    const redis = new EmbeddedRedis({ dir });
    await redis.start();
    const { Redis } = await import('ioredis');
    let client = new Redis(redis.url);
    await client.set('k', 'v');
    client.disconnect();
    await redis.stop();
    await redis.start();
    client = new Redis(redis.url);
    assert.equal(await client.get('k'), 'v');
    client.disconnect();
    await redis.stop();
  });
});

describe('waitForRedis', () => {
  it('gives one clear error after bounded retries when nothing listens', async () => {
    const port = await findFreePort();
    const started = Date.now();
    await assert.rejects(waitForRedis(`redis://:hunter2@127.0.0.1:${port}`, { attempts: 3, delayMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof RedisUnreachableError);
      assert.match(error.message, new RegExp(`^Redis unreachable at 127\\.0\\.0\\.1:${port} after 3 attempts: .*ECONNREFUSED`));
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, 'took too long');
  });

  it('redacts passwords in URLs', () => {
    assert.equal(redactRedisUrl('redis://:s3cret@host:1234/2'), 'redis://:***@host:1234/2');
    assert.equal(redactRedisUrl('redis://user:s3cret@host:1234'), 'redis://user:***@host:1234');
    assert.equal(redactRedisUrl('redis://host:1234'), 'redis://host:1234');
  });
});
