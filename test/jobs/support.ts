import { FineTuneQueue, type FineTuneQueueOptions } from '../../src/jobs/finetune-queue.ts';
import { FineTuneWorker, type FineTuneWorkerOptions } from '../../src/jobs/finetune-worker.ts';
import type { FineTuneJobData } from '../../src/jobs/finetune-job.ts';

/** Shared by the job tests: small builders, no test logic. */
let counter = 0;

export function jobData(voiceId: string, overrides: Partial<FineTuneJobData> = {}): FineTuneJobData {
  counter++;
  return { jobId: `job-${process.pid}-${counter}`, voiceId, userId: 'user-1', backend: 'classic', sampleId: `sample-${counter}`, ...overrides };
}

export function makeQueue(url: string, options: Partial<FineTuneQueueOptions> = {}): FineTuneQueue {
  return new FineTuneQueue({ url, attempts: 3, backoffMs: 50, ...options });
}

export function makeWorker(url: string, options: Partial<FineTuneWorkerOptions> & Pick<FineTuneWorkerOptions, 'processor'>): FineTuneWorker {
  return new FineTuneWorker({ url, lockDuration: 2000, stalledInterval: 1000, cancelPollMs: 200, ...options });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A promise resolved from outside, for processors the test steers. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
