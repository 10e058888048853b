import { EventEmitter } from 'node:events';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BULL_PREFIX,
  CANCELLED_REASON,
  FINETUNE_QUEUE_NAME,
  assertValidId,
  bullJobId,
  isFineTuneProgress,
  isFineTuneResult,
  parseBullJobId,
  type FineTuneJobData,
  type FineTuneJobProgress,
  type FineTuneJobRef,
  type FineTuneJobResult,
} from './finetune-job.ts';
import { connectionOptions, createRedisConnection, scanKeys } from './redis-connection.ts';

/** One thing that happened to a run, as seen from any process. */
export type FineTuneEvent =
  | { type: 'progress'; ref: FineTuneJobRef; progress: FineTuneJobProgress }
  | { type: 'completed'; ref: FineTuneJobRef; result: FineTuneJobResult }
  | { type: 'failed'; ref: FineTuneJobRef; reason: string }
  | { type: 'cancelled'; ref: FineTuneJobRef };

export interface FineTuneEventsMap {
  progress: [ref: FineTuneJobRef, progress: FineTuneJobProgress];
  completed: [ref: FineTuneJobRef, result: FineTuneJobResult];
  /** Failed for good (retries exhausted or unrecoverable); retried failures are not reported. */
  failed: [ref: FineTuneJobRef, reason: string];
  /** Cancelled while running, or removed while waiting. */
  cancelled: [ref: FineTuneJobRef];
  error: [error: Error];
}

/** Selects runs: a voice's current/latest run, one Vocalis job, or both. */
export type FineTuneTarget = { voiceId: string; jobId?: string } | { voiceId?: string; jobId: string };

export class FineTuneFailedError extends Error {
  readonly ref: FineTuneJobRef;
  constructor(ref: FineTuneJobRef, reason: string) {
    super(`fine-tune ${ref.jobId} of voice ${ref.voiceId} failed: ${reason}`);
    this.name = 'FineTuneFailedError';
    this.ref = ref;
  }
}

export class FineTuneCancelledError extends Error {
  readonly ref: FineTuneJobRef;
  constructor(ref: FineTuneJobRef) {
    super(`fine-tune ${ref.jobId} of voice ${ref.voiceId} was cancelled`);
    this.name = 'FineTuneCancelledError';
    this.ref = ref;
  }
}

export class NoSuchFineTuneError extends Error {
  constructor(target: FineTuneTarget) {
    super(`no fine-tune found for ${target.voiceId ? `voice ${target.voiceId}` : ''}${target.voiceId && target.jobId ? ' ' : ''}${target.jobId ? `job ${target.jobId}` : ''}`);
    this.name = 'NoSuchFineTuneError';
  }
}

/**
 * Listener side for other processes (`vocalis clone --wait`, bots showing progress):
 * wraps BullMQ's QueueEvents (a read of the queue's events stream) and turns its
 * untyped, BullMQ-id keyed events into typed ones about voices and Vocalis jobs.
 */
export class FineTuneEvents extends EventEmitter<FineTuneEventsMap> {
  private readonly url: string;
  private readonly redis: Redis;
  private readonly queue: Queue<FineTuneJobData, FineTuneJobResult, 'finetune'>;
  private queueEvents: QueueEvents<FineTuneJobResult> | undefined;
  private readonly watchers = new Set<(id: string, event: FineTuneEvent) => void>();
  private readonly ready: Promise<void>;
  private readonly keyBase = `${BULL_PREFIX}:${FINETUNE_QUEUE_NAME}:`;

  constructor(options: { url: string }) {
    super();
    this.url = options.url;
    this.redis = createRedisConnection(options.url, 'producer');
    this.redis.on('error', () => {});
    this.queue = new Queue<FineTuneJobData, FineTuneJobResult, 'finetune'>(FINETUNE_QUEUE_NAME, {
      connection: { url: options.url, ...connectionOptions('producer') },
      prefix: BULL_PREFIX,
    });
    this.queue.on('error', () => {});
    this.ready = this.listen();
    this.ready.catch(() => {});
  }

  /** Resolves once events from now on are guaranteed to be seen. */
  waitUntilReady(): Promise<void> {
    return this.ready;
  }

  /** Calls `listener` for every event of the matching runs; returns the unsubscribe function. */
  watch(target: FineTuneTarget, listener: (event: FineTuneEvent) => void): () => void {
    const watcher = (id: string, event: FineTuneEvent): void => {
      if (matches(target, event.ref, id)) listener(event);
    };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /**
   * Result of a run: the voice's current run (or its latest finished one), a given
   * Vocalis job, or both. Rejects with FineTuneFailedError, FineTuneCancelledError,
   * NoSuchFineTuneError, or the signal's reason when aborted.
   */
  async waitForResult(target: FineTuneTarget, signal?: AbortSignal): Promise<FineTuneJobResult> {
    if (target.voiceId !== undefined) assertValidId('voiceId', target.voiceId);
    if (target.jobId !== undefined) assertValidId('jobId', target.jobId);
    signal?.throwIfAborted();
    await this.ready;
    const id = await this.resolve(target);
    if (!id) throw new NoSuchFineTuneError(target);
    const ref = parseBullJobId(id);
    if (!ref) throw new NoSuchFineTuneError(target);

    return new Promise<FineTuneJobResult>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        unwatch();
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = (): void => finish(() => reject(signal?.reason));
      // Listen first, then read the current state: an end in between is caught by either.
      const unwatch = this.watch({ voiceId: ref.voiceId, jobId: ref.jobId }, (event) => {
        if (event.type === 'completed') finish(() => resolve(event.result));
        else if (event.type === 'failed') finish(() => reject(new FineTuneFailedError(ref, event.reason)));
        else if (event.type === 'cancelled') finish(() => reject(new FineTuneCancelledError(ref)));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.settledOutcome(id, ref).then(
        (outcome) => {
          if (outcome) finish(outcome.ok ? () => resolve(outcome.result) : () => reject(outcome.error));
        },
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  async close(): Promise<void> {
    this.watchers.clear();
    await this.ready.catch(() => {});
    await Promise.all([
      this.queueEvents?.close(),
      this.queue.close(),
      this.redis.quit().catch(() => this.redis.disconnect()),
    ]);
  }

  /**
   * Starts reading the events stream from its current end. Passing an explicit id
   * instead of BullMQ's default '$' closes the gap between construction and its first
   * XREAD, in which events would otherwise be lost.
   */
  private async listen(): Promise<void> {
    const last = await this.redis.xrevrange(`${this.keyBase}events`, '+', '-', 'COUNT', 1);
    const lastEventId = last[0]?.[0] ?? '0-0';
    const queueEvents = new QueueEvents<FineTuneJobResult>(FINETUNE_QUEUE_NAME, {
      connection: { url: this.url, ...connectionOptions('blocking') },
      prefix: BULL_PREFIX,
      lastEventId,
    });
    this.queueEvents = queueEvents;
    queueEvents.on('progress', ({ jobId, data }) => {
      const ref = parseBullJobId(jobId);
      if (ref && isFineTuneProgress(data)) this.publish(jobId, { type: 'progress', ref, progress: data });
    });
    queueEvents.on('completed', ({ jobId, returnvalue }) => {
      const ref = parseBullJobId(jobId);
      const result: unknown = typeof returnvalue === 'string' ? safeJson(returnvalue) : returnvalue;
      if (ref && isFineTuneResult(result)) this.publish(jobId, { type: 'completed', ref, result });
    });
    queueEvents.on('failed', ({ jobId, failedReason }) => {
      const ref = parseBullJobId(jobId);
      if (!ref) return;
      if (failedReason === CANCELLED_REASON) this.publish(jobId, { type: 'cancelled', ref });
      else this.publish(jobId, { type: 'failed', ref, reason: failedReason });
    });
    queueEvents.on('removed', ({ jobId, prev }) => {
      const ref = parseBullJobId(jobId);
      // Removing a finished run (retention, purge) is not news; removing a queued one is a cancel.
      if (ref && prev !== 'completed' && prev !== 'failed') this.publish(jobId, { type: 'cancelled', ref });
    });
    queueEvents.on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    await queueEvents.waitUntilReady();
  }

  private publish(id: string, event: FineTuneEvent): void {
    switch (event.type) {
      case 'progress':
        this.emit('progress', event.ref, event.progress);
        break;
      case 'completed':
        this.emit('completed', event.ref, event.result);
        break;
      case 'failed':
        this.emit('failed', event.ref, event.reason);
        break;
      case 'cancelled':
        this.emit('cancelled', event.ref);
        break;
    }
    for (const watcher of this.watchers) watcher(id, event);
  }

  /** The BullMQ id the target names, or null when no such run exists. */
  private async resolve(target: FineTuneTarget): Promise<string | null> {
    if (target.voiceId !== undefined && target.jobId !== undefined) {
      return bullJobId({ voiceId: target.voiceId, jobId: target.jobId });
    }
    if (target.voiceId !== undefined) {
      const current = await this.queue.getDeduplicationJobId(target.voiceId);
      if (current) return current;
      return this.latestOfVoice(target.voiceId);
    }
    if (target.jobId === undefined) return null;
    // Vocalis job ids are unique, so at most one `<voiceId>.<jobId>` hash matches.
    const ids = (await scanKeys(this.redis, `${this.keyBase}*.${target.jobId}`)).map((key) => key.slice(this.keyBase.length));
    return ids.find((id) => parseBullJobId(id)?.jobId === target.jobId) ?? null;
  }

  private async latestOfVoice(voiceId: string): Promise<string | null> {
    let latest: { id: string; timestamp: number } | null = null;
    for (const key of await scanKeys(this.redis, `${this.keyBase}${voiceId}.*`)) {
      const id = key.slice(this.keyBase.length);
      if (id.includes(':')) continue; // `<id>:logs` and other companions
      const timestamp = Number(await this.redis.hget(key, 'timestamp'));
      if (!latest || timestamp > latest.timestamp) latest = { id, timestamp };
    }
    return latest?.id ?? null;
  }

  /** The run's outcome if it already ended, null if it is still to come. */
  private async settledOutcome(
    id: string,
    ref: FineTuneJobRef,
  ): Promise<{ ok: true; result: FineTuneJobResult } | { ok: false; error: Error } | null> {
    // State first, then the job: a job read before it finished would lack its result.
    const state = await this.queue.getJobState(id);
    if (state === 'unknown') return { ok: false, error: new NoSuchFineTuneError(ref) };
    if (state !== 'completed' && state !== 'failed') return null;
    const job = await this.queue.getJob(id);
    if (!job) return { ok: false, error: new NoSuchFineTuneError(ref) };
    if (state === 'completed') {
      return isFineTuneResult(job.returnvalue)
        ? { ok: true, result: job.returnvalue }
        : { ok: false, error: new FineTuneFailedError(ref, 'completed without a valid result') };
    }
    return job.failedReason === CANCELLED_REASON
      ? { ok: false, error: new FineTuneCancelledError(ref) }
      : { ok: false, error: new FineTuneFailedError(ref, job.failedReason) };
  }

}

function matches(target: FineTuneTarget, ref: FineTuneJobRef, id: string): boolean {
  if (target.voiceId !== undefined && target.jobId !== undefined) return id === bullJobId({ voiceId: target.voiceId, jobId: target.jobId });
  if (target.voiceId !== undefined) return ref.voiceId === target.voiceId;
  return ref.jobId === target.jobId;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
