import { test, type TestContext } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from '../../src/jobs/process-identity.ts';
import { killIfRunning, launchService, waitForExit, type Exit, type Launcher, type ServiceProcess } from './service-process.ts';

/**
 * Every way an operator stops `npm start` ends in one graceful stop, measured from the
 * signal to the exit: Ctrl-C to the process group, SIGTERM to the service, to the
 * bootstrap or to npm, the same signal twice, dependencies already gone, and a part
 * that never closes (the deadline).
 */

/** Well under the 10 s deadline: a graceful stop here takes a fraction of a second. */
const PROMPT_MS = 5000;

const hasNpm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0;

interface Started {
  readonly proc: ServiceProcess;
  readonly dataDir: string;
  readonly redisPid: number;
  readonly servicePid: number;
}

async function start(launcher: Launcher, env: Record<string, string> = {}): Promise<Started> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-stop-'));
  const proc = launchService(launcher, dataDir, env);
  try {
    await proc.ready;
    return { proc, dataDir, redisPid: await proc.redisPid(), servicePid: proc.servicePid() };
  } catch (error) {
    proc.kill();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function cleanup(started: Started): Promise<void> {
  started.proc.kill();
  killIfRunning(started.servicePid);
  killIfRunning(started.redisPid);
  await rm(started.dataDir, { recursive: true, force: true });
}

/** The process group a pid belongs to (/proc/<pid>/stat field 5). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** One graceful stop: one "stopping", one "stopped", no forced exit, nothing logged as an error, Redis gone. */
async function assertOneGracefulStop(t: TestContext, started: Started, signalledAt: number, what: string): Promise<void> {
  const exit = await exitOf(started);
  const ms = Math.round(exit.at - signalledAt);
  await t.annotate(`${what}: exited ${ms} ms after the signal`);
  const { logs } = started.proc;
  const messages = logs.map((line) => line.msg);
  assert.equal(messages.filter((m) => m === 'stopping').length, 1, `one graceful stop:\n${messages.join('\n')}`);
  assert.equal(messages.filter((m) => m === 'stopped').length, 1, `the stop completed:\n${messages.join('\n')}\n${started.proc.text()}`);
  assert.ok(!messages.includes('second signal: exiting now'), 'a duplicate signal is not a second signal');
  const stoppingAt = messages.indexOf('stopping');
  const errors = logs.slice(stoppingAt).filter((line) => line.level >= 50);
  assert.deepEqual(errors, [], 'nothing failed while stopping (no lost Redis connection)');
  assert.ok(ms < PROMPT_MS, `${what} took ${ms} ms`);
  assert.ok(await waitForExit(started.servicePid, 2000), 'the service process is gone');
  assert.ok(await waitForExit(started.redisPid, 2000), 'its redis-server is gone');
}

test('SIGTERM to the service, twice (group signal plus forwarded copy), is one graceful stop', async (t) => {
  const started = await start('service');
  try {
    const at = performance.now();
    process.kill(started.servicePid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(started.servicePid, 'SIGTERM');
    await assertOneGracefulStop(t, started, at, 'SIGTERM to the service (twice)');
    assert.equal((await exitOf(started)).code, 0);
  } finally {
    await cleanup(started);
  }
});

test('Ctrl-C (SIGINT to the process group of npm start, with Telegram on): one graceful stop, Redis in its own group, stopped last', {
  skip: !hasNpm /* npm is not on PATH */,
}, async (t) => {
  const { startFakeTelegram } = await import('../fakes/telegram/index.ts');
  const telegram = await startFakeTelegram();
  t.onTestFinished(() => telegram.close());
  const started = await start('npm', { TELEGRAM_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot });
  try {
    assert.equal(processGroupOf(started.servicePid), started.proc.pid, 'the service runs in the group a terminal signals');
    assert.notEqual(processGroupOf(started.redisPid), started.proc.pid, 'redis-server is out of reach of the group signal');
    const at = performance.now();
    process.kill(-started.proc.pid, 'SIGINT');
    await assertOneGracefulStop(t, started, at, 'SIGINT to the process group (npm start)');
    assert.ok(started.proc.logs.some((line) => line.msg === 'telegram adapter stopped'));
  } finally {
    await cleanup(started);
  }
});

test('SIGTERM to the bootstrap alone: it forwards the signal, one graceful stop', async (t) => {
  const started = await start('bootstrap');
  try {
    const at = performance.now();
    process.kill(started.proc.pid, 'SIGTERM');
    await assertOneGracefulStop(t, started, at, 'SIGTERM to the bootstrap');
    assert.equal((await exitOf(started)).code, 0);
  } finally {
    await cleanup(started);
  }
});

test('SIGTERM to npm alone: the bootstrap notices npm is gone and stops the service', { skip: !hasNpm /* npm is not on PATH */ }, async (t) => {
  const started = await start('npm');
  try {
    const bootstrap = parentOf(started.servicePid);
    const at = performance.now();
    process.kill(started.proc.pid, 'SIGTERM');
    assert.ok(await waitForExit(started.servicePid, PROMPT_MS), 'the service stopped');
    await t.annotate(`SIGTERM to npm: the service exited ${Math.round(performance.now() - at)} ms after the signal`);
    assert.ok(await waitForExit(bootstrap, 2000), 'the bootstrap exited with it');
    assert.ok(await waitForExit(started.redisPid, 2000), 'and so did redis-server');
    const messages = started.proc.logs.map((line) => line.msg);
    assert.equal(messages.filter((m) => m === 'stopped').length, 1, messages.join('\n'));
  } finally {
    await cleanup(started);
  }
});

test('with Redis killed just before the signal, SIGTERM still stops promptly (no endless reconnecting)', async (t) => {
  const started = await start('service');
  try {
    process.kill(started.redisPid, 'SIGKILL');
    assert.ok(await waitForExit(started.redisPid, 2000));
    const at = performance.now();
    process.kill(started.servicePid, 'SIGTERM');
    const exit = await exitOf(started);
    const ms = Math.round(exit.at - at);
    await t.annotate(`SIGTERM with Redis just gone: exited ${ms} ms after the signal`);
    assert.equal(exit.code, 0, started.proc.logs.map((l) => JSON.stringify(l).slice(0, 400)).join('\n'));
    assert.ok(ms < PROMPT_MS, `took ${ms} ms`);
  } finally {
    await cleanup(started);
  }
});

test('with the Telegram API and Redis already gone, SIGTERM still stops promptly', async (t) => {
  const { startFakeTelegram } = await import('../fakes/telegram/index.ts');
  const telegram = await startFakeTelegram();
  t.onTestFinished(() => telegram.close());
  const started = await start('service', { TELEGRAM_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot });
  try {
    await telegram.close();
    process.kill(started.redisPid, 'SIGKILL');
    assert.ok(await waitForExit(started.redisPid, 2000));
    const at = performance.now();
    process.kill(started.servicePid, 'SIGTERM');
    const exit = await exitOf(started);
    const ms = Math.round(exit.at - at);
    await t.annotate(`SIGTERM with Telegram and Redis gone: exited ${ms} ms after the signal`);
    // Exit code 0: the stop completed by itself, not at the 10 s deadline; and it does not
    // sit out telegraf's 5 s sleep between failed getUpdates calls.
    assert.equal(exit.code, 0, started.proc.logs.map((l) => JSON.stringify(l).slice(0, 400)).join('\n'));
    assert.ok(ms < 3000, `took ${ms} ms`);
    assert.ok(started.proc.logs.some((line) => line.msg === 'stopped'));
  } finally {
    await cleanup(started);
  }
});

test('a part that never closes (Redis frozen): the deadline exits anyway, names what was open, and Redis still stops', async (t) => {
  const started = await start('service', { VOCALIS_SHUTDOWN_TIMEOUT_SECONDS: '1' });
  try {
    process.kill(started.redisPid, 'SIGSTOP');
    const at = performance.now();
    process.kill(started.servicePid, 'SIGTERM');
    const exit = await exitOf(started);
    const ms = Math.round(exit.at - at);
    await t.annotate(`deadline 1 s, Redis frozen: exited ${ms} ms after the signal`);
    assert.equal(exit.code, 1);
    assert.ok(ms >= 900 && ms < 1000 + PROMPT_MS, `took ${ms} ms`);
    const deadline = started.proc.logs.find((line) => line.msg === 'shutdown deadline passed: exiting with parts still open');
    assert.ok(deadline, started.proc.logs.map((l) => l.msg).join('\n'));
    const stillOpen = deadline['stillOpen'] as string[];
    assert.ok(stillOpen.includes('runtime: fine-tune worker'), JSON.stringify(stillOpen));
    assert.equal(stillOpen.at(-1), 'runtime: embedded Redis', 'Redis is the last part');
    // The exit hook signalled Redis; once it runs again it shuts down on its own.
    process.kill(started.redisPid, 'SIGCONT');
    assert.ok(await waitForExit(started.redisPid, 5000), 'redis-server stopped after the forced exit');
    assert.equal(isRunning(started.servicePid), false);
  } finally {
    killIfRunning(started.redisPid);
    await cleanup(started);
  }
});

test('SIGTERM while the service is still starting (its Telegram API never answers): no orphaned Redis, exit at the deadline', async (t) => {
  // A Bot API that accepts connections and never replies: the adapter's start waits for ever.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const address = silent.address() as AddressInfo;
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-stop-'));
  const proc = launchService(
    'service',
    dataDir,
    {
      TELEGRAM_TOKEN: '123456:never-answered',
      TELEGRAM_API_ROOT: `http://127.0.0.1:${address.port}`,
      VOCALIS_SHUTDOWN_TIMEOUT_SECONDS: '2',
    },
    'started the embedded redis-server',
  );
  let redisPid: number | undefined;
  try {
    await proc.ready;
    redisPid = await proc.redisPid();
    await sleep(300);
    const at = performance.now();
    proc.child.kill('SIGTERM');
    const exit = await Promise.race([proc.exited, sleep(15_000).then(() => null)]);
    assert.ok(exit, 'the service exited');
    await t.annotate(`SIGTERM during a start that hangs (deadline 2 s): exited ${Math.round(exit.at - at)} ms after the signal`);
    const messages = proc.logs.map((l) => l.msg);
    assert.ok(messages.includes('stop requested while starting: stopping as soon as started'), messages.join('\n'));
    assert.equal(exit.code, 1, 'the deadline ended it');
    assert.deepEqual(proc.logs.find((line) => line.msg === 'shutdown deadline passed: exiting with parts still open')?.['stillOpen'], ['start-up']);
    assert.ok(await waitForExit(redisPid, 5000), 'its redis-server is gone, not orphaned');
  } finally {
    proc.kill();
    killIfRunning(redisPid);
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** The launched process' exit; a stop that never ends fails the test instead of hanging it. */
async function exitOf(started: Started, timeoutMs = 15_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms later:\n${started.proc.logs.map((l) => l.msg).join('\n')}`)), timeoutMs);
  });
  try {
    return await Promise.race([started.proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}
