import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, runNode } from '../support/spawn-node.ts';
import { speakerFiles } from '../support/speech-data.ts';

function start(entry: string, env: Record<string, string>, ready: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const isReady = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if ((JSON.parse(line) as { msg?: string }).msg === ready) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${stderr}`)));
  });
  return { child, ready: isReady };
}

/**
 * The split deployment: the service runs without a worker, `npm run worker` trains,
 * and the CLI finds the running service's Redis and queues into it.
 */
test('a separate worker process trains what the CLI queues into the running service', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-split-'));
  // The sample is a LibriSpeech speaker who never read our consent statement: verification off, explicitly.
  const env = { VOCALIS_DATA_DIR: dataDir, VOCALIS_HTTP_PORT: '0', VOCALIS_CONSENT_VERIFICATION: 'off' };
  const service = start('src/main.ts', { ...env, VOCALIS_RUN_WORKER: 'false' }, 'Vocalis is running');
  let worker: ReturnType<typeof start> | undefined;
  try {
    await service.ready;
    worker = start('src/worker-main.ts', env, 'fine-tune worker running');
    await worker.ready;
    const cli = (...args: string[]) => runNode(['src/cli/main.ts', ...args], { ...env, VOCALIS_LOG_LEVEL: 'info' });
    assert.equal((await cli('consent', 'grant', '--user', 'split')).code, 0);
    assert.equal((await cli('sample', 'add', '--user', 'split', ...speakerFiles('2033'))).code, 0);
    const clone = await cli('clone', '--user', 'split', '--wait', '--json');
    assert.equal(clone.code, 0, clone.stderr);
    assert.match(clone.stderr, /using the Redis of the Vocalis process already running/);
    assert.equal((JSON.parse(clone.stdout) as { job: { state: string } }).job.state, 'completed');
  } finally {
    for (const p of [worker?.child, service.child]) {
      if (!p || p.exitCode !== null) continue;
      const exited = new Promise((resolve) => p.on('exit', resolve));
      p.kill('SIGINT');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }
});
