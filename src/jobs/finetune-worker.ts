import { EventEmitter } from 'node:events';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelChannel, type CancelMessage } from './cancel-channel.ts';
import { cancelFlagKey } from './cancel-flag.ts';
import { recoverRunsOfDeadWorkers, registerWorker, unregisterWorker, type RecoveredRun } from './dead-worker-recovery.ts';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME } from './bull-layout.ts';
import { CANCELLED_REASON, SHUTDOWN_REASON, readJobData, type FineTuneJobData, type FineTuneJobRef, type FineTuneJobResult } from './finetune-job.ts';
import { connectionOptions, createRedisConnection } from './redis-connection.ts';

export interface FineTuneContext {
  /** Aborted when the run is cancelled or the worker shuts down: stop promptly and reject. */
  signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: number;
}

export type FineTuneProcessor = (data: FineTuneJobData, ctx: FineTuneContext) => Promise<FineTuneJobResult>;

export interface FineTuneWorkerOptions {
  url: string;
  processor: FineTuneProcessor;
  /** Runs at once (default 1: one GPU trains one voice at a time). */
  concurrency?: number;
  /** How long a run's lock lasts without renewal, ms (BullMQ default 30 s). */
  lockDuration?: number;
  /** How often workers look for runs whose worker died, ms (BullMQ default 30 s). */
  stalledInterval?: number;
  /** Times a run may be recovered from a dead worker before it fails (default 1). */
  maxStalledCount?: number;
  /** How often a running job's durable cancel flag is checked, ms (default 2 s). */
  cancelPollMs?: number;
  /** Start taking jobs at once (default true). */
  autorun?: boolean;
}

export interface FineTuneFailure {
  message: string;
  attempt: number;
  /** True when BullMQ will run it again after the backoff. */
  willRetry: boolean;
}

/** Events for the hosting process (logs, metrics). Refs only: never payload contents. */
export interface FineTuneWorkerEvents {
  active: [ref: FineTuneJobRef, attempt: number];
  completed: [ref: FineTuneJobRef, result: FineTuneJobResult];
  failed: [ref: FineTuneJobRef, failure: FineTuneFailure];
  cancelled: [ref: FineTuneJobRef];
  /** A run whose worker process died was handed back to the queue at start. */
  recovered: [run: RecoveredRun];
  error: [error: Error];
}

type FineTuneBullJob = Job<FineTuneJobData, FineTuneJobResult, 'finetune'>;

/** How long close() waits for Redis to answer before treating it as gone. */
const REDIS_CHECK_MS = 1000;

/**
 * Consumer side: runs fine-tunes on this host (`npm run worker`). Wraps a BullMQ
 * Worker and adds Vocalis' cancellation: a cancel (pub/sub, or the durable flag seen
 * by polling) aborts the processor's signal, and a run that rejects because of it
 * fails as cancelled, never retried.
 */
export class FineTuneWorker extends EventEmitter<FineTuneWorkerEvents> {
  readonly #worker: Worker<FineTuneJobData, FineTuneJobResult, 'finetune'>;
  readonly #redis: Redis;
  readonly #cancels: CancelChannel;
  readonly #processor: FineTuneProcessor;
  readonly #cancelPollMs: number;
  readonly #maxStalledCount: number;
  /** BullMQ id → ref of the runs active in this process. */
  readonly #running = new Map<string, FineTuneJobRef>();
  readonly #ready: Promise<void>;
  /** Set by close(): a start still under way gives up, and lost connections are expected. */
  #closing = false;

  constructor(options: FineTuneWorkerOptions) {
    super();
    this.#processor = options.processor;
    this.#cancelPollMs = options.cancelPollMs ?? 2000;
    this.#maxStalledCount = options.maxStalledCount ?? 1;
    this.#redis = createRedisConnection(options.url, 'producer');
    this.#redis.on('error', () => {});
    this.#cancels = new CancelChannel(options.url, (error) => this.#reportError(error));
    // Subscribe before taking jobs, so no cancel for a job of ours can slip past.
    const subscribed = this.#cancels.subscribe((message) => this.#onCancelMessage(message));
    // Three parameters: BullMQ only creates an AbortSignal for processors that take one.
    const processJob = (job: FineTuneBullJob, token?: string, signal?: AbortSignal): Promise<FineTuneJobResult> => this.#run(job, token, signal);
    this.#worker = new Worker<FineTuneJobData, FineTuneJobResult, 'finetune'>(FINETUNE_QUEUE_NAME, processJob, {
      connection: { url: options.url, ...connectionOptions('blocking') },
      prefix: BULL_PREFIX,
      concurrency: options.concurrency ?? 1,
      autorun: false,
      ...(options.lockDuration !== undefined ? { lockDuration: options.lockDuration } : {}),
      ...(options.stalledInterval !== undefined ? { stalledInterval: options.stalledInterval } : {}),
      ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
    });
    this.#forwardWorkerEvents();
    this.#ready = subscribed.then(() => undefined);
    if (options.autorun ?? true) this.start().catch((error: unknown) => this.#closing || this.#reportError(error));
  }

  /**
   * Starts taking jobs (only needed with autorun: false). First it records which
   * process it lives in and hands back the runs of workers whose process died.
   */
  async start(): Promise<void> {
    await this.#ready;
    if (this.#worker.isRunning() || this.#closing) return;
    await registerWorker(this.#redis, this.#worker.id);
    for (const run of await recoverRunsOfDeadWorkers(this.#redis, this.#worker, this.#maxStalledCount)) this.emit('recovered', run);
    if (this.#closing) return;
    if (!this.#worker.isRunning()) void this.#worker.run().catch((error: unknown) => this.#reportError(error));
    await this.#worker.waitUntilReady();
  }

  /** Resolves when connected and subscribed to cancels. */
  async waitUntilReady(): Promise<void> {
    await this.#ready;
    await this.#worker.waitUntilReady();
  }

  /** Refs of the runs active in this process. */
  activeJobs(): FineTuneJobRef[] {
    return [...this.#running.values()];
  }

  /**
   * Stops taking jobs and waits for the active run to settle. After `timeoutMs`
   * (default: wait forever) the run is aborted and handed back to the queue for
   * another worker, without using up an attempt.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    // With Redis unreachable a run can neither finish nor be handed back: do not wait
    // for it (BullMQ's graceful close would retry the connection for ever).
    this.#closing = true;
    const redisReachable = await answersWithin(this.#redis, REDIS_CHECK_MS);
    if (redisReachable) await unregisterWorker(this.#redis, this.#worker.id).catch(() => undefined);
    const closing = this.#worker.close(!redisReachable);
    if (options.timeoutMs !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), options.timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) this.#worker.cancelAllJobs(SHUTDOWN_REASON);
    }
    await closing;
    await Promise.all([this.#cancels.close(), redisReachable ? this.#redis.quit().catch(() => this.#redis.disconnect()) : this.#redis.disconnect()]);
  }

  async #run(job: FineTuneBullJob, token: string | undefined, signal: AbortSignal | undefined): Promise<FineTuneJobResult> {
    const id = job.id ?? '';
    const ref: FineTuneJobRef = { voiceId: job.data.voiceId, jobId: job.data.jobId };
    const attempt = job.attemptsMade + 1;
    const abortSignal = signal ?? new AbortController().signal;
    if ((await this.#redis.exists(cancelFlagKey(id))) === 1) throw new UnrecoverableError(CANCELLED_REASON);
    this.#running.set(id, ref);
    this.emit('active', ref, attempt);
    const poll = setInterval(() => void this.#pollCancelFlag(id), this.#cancelPollMs);
    try {
      // Progress goes to the job history (SQLite) through the processor, where every process reads it.
      return await this.#processor(readJobData(job.data), { signal: abortSignal, attempt });
    } catch (error) {
      if (abortSignal.aborted && abortSignal.reason === CANCELLED_REASON) throw new UnrecoverableError(CANCELLED_REASON);
      if (abortSignal.aborted && abortSignal.reason === SHUTDOWN_REASON && token) {
        // Hand the run back untouched: another worker picks it up, no attempt is used.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw error;
    } finally {
      clearInterval(poll);
      this.#running.delete(id);
    }
  }

  #onCancelMessage(message: CancelMessage): void {
    for (const [id, ref] of this.#running) {
      if (ref.voiceId !== message.voiceId) continue;
      if (message.bullJobId !== undefined && message.bullJobId !== id) continue;
      this.#worker.cancelJob(id, CANCELLED_REASON);
    }
  }

  async #pollCancelFlag(id: string): Promise<void> {
    try {
      if ((await this.#redis.exists(cancelFlagKey(id))) === 1) this.#worker.cancelJob(id, CANCELLED_REASON);
    } catch (error) {
      this.#reportError(error);
    }
  }

  #forwardWorkerEvents(): void {
    this.#worker.on('completed', (job, result) => {
      this.emit('completed', refOf(job), result);
    });
    this.#worker.on('failed', (job, error) => {
      if (!job) return; // stalled past its limit and already removed: nothing to name
      const ref = refOf(job);
      if (error.message === CANCELLED_REASON) {
        if (job.id) void this.#redis.del(cancelFlagKey(job.id)).catch(() => {});
        this.emit('cancelled', ref);
        return;
      }
      const unrecoverable = error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
      const willRetry = !unrecoverable && job.attemptsMade < (job.opts.attempts ?? 1);
      this.emit('failed', ref, { message: error.message, attempt: job.attemptsMade, willRetry });
    });
    this.#worker.on('error', (error) => this.#reportError(error));
  }

  #reportError(error: unknown): void {
    // Closing drops the connections on purpose; BullMQ reports that as an error.
    if (this.#closing && error instanceof Error && error.message.startsWith('Connection is closed')) return;
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/** Whether Redis answers PING in time: a connection can still look ready just after Redis died. */
async function answersWithin(redis: Redis, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function refOf(job: { data: FineTuneJobData }): FineTuneJobRef {
  return { voiceId: job.data.voiceId, jobId: job.data.jobId };
}
