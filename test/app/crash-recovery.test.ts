import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '../../src/jobs/process-identity.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { killIfRunning, launchService, waitForExit, type ServiceProcess } from './service-process.ts';

/** Processes whose working directory is `dir`: redis-server chdirs into its --dir. */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}

/**
 * The OOM killer (SIGKILL) takes the service mid-fine-tune. Its redis-server, in a
 * process group of its own, survives as an orphan. The next start on the same data
 * directory must take that Redis over (nothing lost, one Redis left, stopped at exit)
 * and resume the dead worker's fine-tune at once, not after BullMQ's stall detection
 * (30 s lock + 30 s stalled interval by default, which this test leaves as they are).
 */
test('a service SIGKILLed mid-fine-tune: the restart takes over its orphaned Redis and the fine-tune completes promptly', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-crash-'));
  const redisDir = join(dataDir, 'redis');
  const env = {
    VOCALIS_MASTER_KEY: randomBytes(32).toString('hex'),
    // LibriSpeech speakers never read our consent statement.
    VOCALIS_CONSENT_VERIFICATION: 'off',
    // About 4 s of training, reporting progress every 200 ms.
    TONE_STEPS: '20',
    TONE_STEP_MS: '200',
  };
  const launched: ServiceProcess[] = [];
  const launch = async () => {
    const service = launchService('tone-service', dataDir, env);
    launched.push(service);
    await service.ready;
    return service;
  };
  let producer: RuntimeFixture | undefined;
  const redisPids: number[] = [];
  try {
    const first = await launch();
    const firstRedis = await first.redisPid();
    redisPids.push(firstRedis);
    // A second process on the data directory (as the CLI is) queues the clone into the service's Redis.
    producer = await startRuntime({ dataDir, backends: [createToneBackend()], needs: { queue: true }, env });
    const { vocalis, jobs } = producer.runtime;
    const identity = { platform: 'cli', platformUserId: 'erin' };
    const context = { platform: 'cli', contextId: '*' };
    const offer = vocalis.offerConsent({ identity, language: 'en', context });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    const clip = await vocalis.addClip({ identity, audio: await readFile(speakerFiles('3005')[0]!), cloneWhenComplete: false });
    assert.equal(clip.kind, 'stored');
    const { jobId } = await vocalis.startClone({ identity });
    await eventually(() => jobs.get(jobId)?.state === 'active' && (jobs.get(jobId)?.progress?.fraction ?? 0) > 0, 30_000, 'the fine-tune to be under way');

    process.kill(first.servicePid(), 'SIGKILL');
    await first.exited;
    assert.ok(isRunning(firstRedis), 'the killed service left its redis-server running');

    const second = await launch();
    const restartedAt = performance.now();
    const messages = () => second.logs.map((line) => line.msg);
    const takeover = second.logs.find((line) => String(line.msg).startsWith('the embedded Redis of a Vocalis process that is gone'));
    assert.ok(takeover, `the restart says what it did with the orphan:\n${messages().join('\n')}`);
    assert.equal(takeover['previousRedisPid'], firstRedis);
    assert.equal(isRunning(firstRedis), false, 'the orphan was stopped');
    const secondRedis = await second.redisPid();
    redisPids.push(secondRedis);
    assert.deepEqual(processesIn(redisDir), [secondRedis], 'one redis-server serves the data directory');

    await eventually(() => jobs.get(jobId)?.state === 'completed', 30_000, 'the fine-tune to complete after the restart');
    const seconds = (performance.now() - restartedAt) / 1000;
    await t.annotate(`fine-tune completed ${seconds.toFixed(1)} s after the restarted service was up (training itself: ~4 s)`);
    // BullMQ's stall detection would need the dead run's lock to expire (up to 30 s) and its next check.
    assert.ok(seconds < 20, `completed ${seconds.toFixed(1)} s after the restart`);
    assert.ok(messages().includes('a fine-tune whose worker process died goes back to the queue at once'), messages().join('\n'));

    await producer.close();
    producer = undefined;
    process.kill(second.servicePid(), 'SIGTERM');
    assert.equal((await second.exited).code, 0);
    assert.ok(await waitForExit(secondRedis, 3000), 'the restarted service stopped the Redis it took over');
    assert.deepEqual(processesIn(redisDir), []);
  } finally {
    await producer?.close();
    for (const service of launched) service.kill();
    for (const pid of redisPids) killIfRunning(pid);
    await rm(dataDir, { recursive: true, force: true });
  }
});
