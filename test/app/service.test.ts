import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../support/spawn-node.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` with no .env and no tokens: the service comes up on embedded defaults,
 * answers /healthz and /metrics, says which adapters are off, and Ctrl-C (SIGINT)
 * stops it cleanly — its own redis-server child too.
 */
test('the service starts on defaults, answers /healthz, and stops cleanly on SIGINT', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-svc-'));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', VOCALIS_DATA_DIR: dataDir, VOCALIS_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const messages: Array<Record<string, unknown>> = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not start; stderr: ${stderr}`)), 60_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        messages.push(entry);
        if (entry['msg'] === 'Vocalis is running') {
          clearTimeout(timer);
          resolve(Number(entry['httpPort']));
        }
      });
      child.on('exit', (code) => reject(new Error(`service exited with ${code}; stderr: ${stderr}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, checks: { database: true, queue: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /vocalis_queue_jobs\{state="waiting"\} 0/);
    assert.match(metrics, /vocalis_active_streams 0/);
    assert.ok(
      messages.some((m) => String(m['msg']).includes('DISCORD_TOKEN is not set')),
      'says the Discord adapter is off and why',
    );
    assert.ok(messages.some((m) => String(m['msg']).includes('TELEGRAM_TOKEN is not set')));

    const redisPid = (JSON.parse(await readFile(join(dataDir, 'redis', 'embedded-redis.json'), 'utf8')) as { pid: number }).pid;
    assert.ok(alive(redisPid));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.equal(alive(redisPid), false, 'the embedded redis-server stopped with the service');
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('an invalid configuration is reported at once, in one message, and nothing starts', async () => {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', VOCALIS_HTTP_PORT: 'eighty', REDIS_URL: 'nonsense', VOCALIS_BACKEND: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /Invalid configuration \(2 problems\)/);
  assert.match(stderr, /VOCALIS_HTTP_PORT/);
  assert.match(stderr, /REDIS_URL/);
});

test('an unreachable REDIS_URL is one clear error after bounded retries', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-svc-'));
  try {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', VOCALIS_DATA_DIR: dataDir, VOCALIS_HTTP_PORT: '0', REDIS_URL: 'redis://:secret-password@127.0.0.1:1/0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.match(out, /Redis unreachable at 127\.0\.0\.1:1 after \d+ attempts/);
    assert.doesNotMatch(out, /secret-password/, 'the password never reaches the log');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('with TELEGRAM_TOKEN set, npm start runs the Telegram adapter (against a local Bot API server)', async () => {
  const { startFakeTelegram, makeUser } = await import('../fakes/telegram/index.ts');
  const telegram = await startFakeTelegram();
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-svc-'));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      VOCALIS_DATA_DIR: dataDir,
      VOCALIS_HTTP_PORT: '0',
      TELEGRAM_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    telegram.pushUpdate(telegram.updates.command('start', '', { from: makeUser(4242, { language_code: 'en' }) }));
    const reply = await telegram.waitForCall('sendMessage', undefined, 60_000);
    assert.equal(String(reply.params['chat_id']), '4242');
    assert.doesNotMatch(out, new RegExp(telegram.token), 'the token never reaches the log');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
  } finally {
    child.kill('SIGKILL');
    await telegram.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
