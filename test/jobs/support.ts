import { Queue } from 'bullmq';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME } from '../../src/jobs/bull-layout.ts';
import { FineTuneQueue, type FineTuneQueueOptions } from '../../src/jobs/finetune-queue.ts';
import { FineTuneWorker, type FineTuneWorkerOptions } from '../../src/jobs/finetune-worker.ts';
import { bullJobId, CANCELLED_REASON, type FineTuneJobData, type FineTuneJobRef, type FineTuneJobResult } from '../../src/jobs/finetune-job.ts';

/** Shared by the job tests: small builders, no test logic. */
let counter = 0;

export function jobData(voiceId: string, overrides: Partial<FineTuneJobData> = {}): FineTuneJobData {
  counter++;
  return { jobId: `job-${process.pid}-${counter}`, voiceId, userId: 'user-1', backend: 'classic', ...overrides };
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

export class RunCancelledError extends Error {}

/**
 * How a run ended, read from BullMQ's public API by polling (the service reads the job
 * history in SQLite instead; these tests have only the queue). A run removed before it
 * ended counts as cancelled.
 */
export class RunOutcomes {
  readonly #queue: Queue;

  constructor(url: string) {
    this.#queue = new Queue(FINETUNE_QUEUE_NAME, { connection: { url }, prefix: BULL_PREFIX });
    this.#queue.on('error', () => {});
  }

  /** The run's result; rejects with `failed: <reason>`, RunCancelledError, or the signal's reason. */
  async waitForResult(ref: FineTuneJobRef, signal: AbortSignal = AbortSignal.timeout(30_000)): Promise<FineTuneJobResult> {
    const id = bullJobId(ref);
    for (;;) {
      signal.throwIfAborted();
      const state = await this.#queue.getJobState(id);
      if (state === 'unknown') throw new RunCancelledError(`run ${id} was removed before it ended`);
      if (state === 'completed' || state === 'failed') {
        const job = await this.#queue.getJob(id);
        if (!job) throw new RunCancelledError(`run ${id} was removed`);
        if (state === 'completed') {
          return job.returnvalue as FineTuneJobResult;
        }
        if (job.failedReason === CANCELLED_REASON) throw new RunCancelledError(`run ${id} was cancelled`);
        throw new Error(`run ${id} failed: ${job.failedReason}`);
      }
      await sleep(25);
    }
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}
