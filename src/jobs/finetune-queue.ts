import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelChannel } from './cancel-channel.ts';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME, purgeVoiceKeys, waitingPlace } from './bull-layout.ts';
import {
  assertValidId,
  assertValidJobData,
  bullJobId,
  parseBullJobId,
  readJobData,
  type FineTuneJobData,
  type FineTuneJobRef,
  type FineTuneJobResult,
} from './finetune-job.ts';
import { cancelFlagKey, CANCEL_FLAG_TTL_MS } from './cancel-flag.ts';
import { connectionOptions, createRedisConnection } from './redis-connection.ts';

/** Thrown by enqueue when the voice already has a run waiting, delayed or active. */
export class CloneInProgressError extends Error {
  readonly voiceId: string;
  /** The run that holds the voice (Vocalis job id), when known. */
  readonly existingJobId: string | undefined;
  constructor(voiceId: string, existingJobId: string | undefined) {
    super(`a fine-tune for voice ${voiceId} is already queued or running`);
    this.name = 'CloneInProgressError';
    this.voiceId = voiceId;
    this.existingJobId = existingJobId;
  }
}

export class PurgeIncompleteError extends Error {
  constructor(voiceId: string, remaining: number) {
    super(`purge of voice ${voiceId} incomplete: ${remaining} job(s) still locked by a worker`);
    this.name = 'PurgeIncompleteError';
  }
}

export class AofRewriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AofRewriteError';
  }
}

export interface FineTuneQueueOptions {
  url: string;
  /** Tries per job, counting the first (default 3). */
  attempts?: number;
  /** First retry delay in ms; doubles each retry (default 30 s). */
  backoffMs?: number;
  /** Finished jobs kept for inspection: at most this many... (default 1000) */
  keepFinishedCount?: number;
  /** ...and at most this old, in seconds (default 7 days). */
  keepFinishedAgeS?: number;
}

export type CancelOutcome =
  /** It was waiting or delayed and is gone; it never runs (again). */
  | 'removed'
  /** It is running: its worker was told to abort, and it will not be retried. */
  | 'signalled'
  /** Nothing queued or running for the voice. */
  | 'none';

export type QueuePosition = { state: 'waiting'; position: number; of: number } | { state: 'active' | 'delayed' | 'prioritized'; ref: FineTuneJobRef } | null;

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

type FineTuneBullQueue = Queue<FineTuneJobData, FineTuneJobResult, 'finetune'>;

/**
 * Producer side of the fine-tune queue (the service, the CLI). At most one run per
 * voice is queued or running: BullMQ's deduplication, keyed by voiceId, refuses a
 * second add atomically inside Redis and releases the voice when the run completes,
 * fails for good or is removed, so a finished run never blocks the next one.
 */
export class FineTuneQueue {
  readonly #queue: FineTuneBullQueue;
  readonly #redis: Redis;
  readonly #cancels: CancelChannel;
  readonly #jobOptions: JobsOptions;

  constructor(options: FineTuneQueueOptions) {
    this.#queue = new Queue<FineTuneJobData, FineTuneJobResult, 'finetune'>(FINETUNE_QUEUE_NAME, {
      connection: { url: options.url, ...connectionOptions('producer') },
      prefix: BULL_PREFIX,
    });
    this.#queue.on('error', () => {}); // reconnects are ioredis' job; callers see failed calls
    this.#redis = createRedisConnection(options.url, 'producer');
    this.#redis.on('error', () => {});
    this.#cancels = new CancelChannel(options.url);
    const keep = { count: options.keepFinishedCount ?? 1000, age: options.keepFinishedAgeS ?? 7 * 24 * 3600 };
    this.#jobOptions = {
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 30_000 },
      removeOnComplete: keep,
      removeOnFail: keep,
    };
  }

  /** Queues a run; throws CloneInProgressError when the voice already has one in flight. */
  async enqueue(data: FineTuneJobData): Promise<FineTuneJobRef> {
    assertValidJobData(data);
    const ref = { voiceId: data.voiceId, jobId: data.jobId };
    const id = bullJobId(ref);
    // Copy only the declared fields: nothing else may reach Redis.
    const payload = readJobData(data);
    const job = await this.#queue.add('finetune', payload, {
      ...this.#jobOptions,
      jobId: id,
      deduplication: { id: data.voiceId },
    });
    // A deduplicated add returns the run that holds the voice instead of ours.
    if (job.id !== id) {
      throw new CloneInProgressError(data.voiceId, job.id ? parseBullJobId(job.id)?.jobId : undefined);
    }
    return ref;
  }

  /** The run currently queued or running for the voice, if any. */
  async current(voiceId: string): Promise<FineTuneJobRef | null> {
    assertValidId('voiceId', voiceId);
    const id = await this.#queue.getDeduplicationJobId(voiceId);
    return id ? parseBullJobId(id) : null;
  }

  /**
   * Stops the voice's run. A waiting or delayed run is removed; a running one is
   * flagged and its worker signalled over pub/sub. The flag survives a lost pub/sub
   * message (workers poll it) and makes the job fail as cancelled, without retry.
   */
  async cancel(voiceId: string): Promise<CancelOutcome> {
    assertValidId('voiceId', voiceId);
    const id = await this.#queue.getDeduplicationJobId(voiceId);
    if (!id) return 'none';
    // Flag first: a worker picking the job up between our check and remove sees it.
    await this.#redis.set(cancelFlagKey(id), '1', 'PX', CANCEL_FLAG_TTL_MS);
    const state = await this.#queue.getJobState(id);
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      await this.#redis.del(cancelFlagKey(id));
      return 'none';
    }
    // remove() refuses (0) while a worker holds the job's lock, i.e. while it runs.
    if (state !== 'active' && (await this.#queue.remove(id)) === 1) {
      await this.#redis.del(cancelFlagKey(id));
      return 'removed';
    }
    await this.#cancels.publish({ voiceId, bullJobId: id });
    return 'signalled';
  }

  /** Place of the voice's run in the line, for "queued, position 3 of 5". */
  async position(voiceId: string): Promise<QueuePosition> {
    assertValidId('voiceId', voiceId);
    const id = await this.#queue.getDeduplicationJobId(voiceId);
    if (!id) return null;
    const ref = parseBullJobId(id);
    if (!ref) return null;
    const state = await this.#queue.getJobState(id);
    if (state === 'waiting') {
      const place = await waitingPlace(this.#redis, id);
      if (!place) return { state: 'active', ref }; // moved on meanwhile
      return { state: 'waiting', ...place };
    }
    if (state === 'active' || state === 'delayed' || state === 'prioritized') return { state, ref };
    return null;
  }

  async counts(): Promise<QueueCounts> {
    const counts = await this.#queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    return {
      waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
      active: counts['active'] ?? 0,
      delayed: counts['delayed'] ?? 0,
      failed: counts['failed'] ?? 0,
      completed: counts['completed'] ?? 0,
    };
  }

  /**
   * Removes every trace of the voice from Redis: queued, running (after its worker
   * aborted), delayed, completed and failed runs with their logs, the deduplication
   * and cancel keys, and the voice's entries in the events stream. For consent
   * revocation. Throws PurgeIncompleteError if a worker still holds a run after
   * `timeoutMs` (a dead worker's lock expires after its lockDuration; retry then).
   */
  async purgeVoice(voiceId: string, options: { timeoutMs?: number } = {}): Promise<void> {
    assertValidId('voiceId', voiceId);
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    await this.cancel(voiceId);
    for (;;) {
      // One atomic script: a run cannot move between lists halfway through the purge.
      const outcome = await purgeVoiceKeys(this.#redis, voiceId);
      if (outcome.status === 'purged') return;
      if (Date.now() > deadline) throw new PurgeIncompleteError(voiceId, outcome.runs);
      // Re-signal in case the worker subscribed after the first message.
      await this.#cancels.publish({ voiceId });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Rewrites Redis' append-only file from the data as it is now and waits for the rewrite
   * to finish. A purge removes a voice from memory, but the AOF still holds the commands
   * that once wrote its ids and payloads; after the rewrite the old files are deleted.
   * Returns false when the server does not persist to an AOF (nothing to rewrite).
   */
  async rewriteAppendOnlyFile(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const persistence = async (): Promise<Map<string, string>> => parseInfo(await this.#redis.info('persistence'));
    const idle = (info: Map<string, string>): boolean => info.get('aof_rewrite_in_progress') === '0' && info.get('aof_rewrite_scheduled') === '0';
    const waitUntil = async (done: (info: Map<string, string>) => boolean): Promise<Map<string, string>> => {
      for (;;) {
        const info = await persistence();
        if (done(info)) return info;
        if (Date.now() > deadline) throw new AofRewriteError('the append-only file rewrite did not finish in time');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    if ((await persistence()).get('aof_enabled') !== '1') return false;
    // A rewrite already running may have forked before the purge and would keep what it removed:
    // let it finish, then start one of our own.
    const before = await waitUntil(idle);
    const rewrites = Number(before.get('aof_rewrites') ?? 0);
    try {
      await this.#redis.bgrewriteaof();
    } catch (error) {
      // Someone started one after our wait, so after the purge: waiting for it is enough.
      if (!/already in progress/i.test(error instanceof Error ? error.message : String(error))) throw error;
    }
    const after = await waitUntil((info) => idle(info) && Number(info.get('aof_rewrites') ?? 0) > rewrites);
    if (after.get('aof_last_bgrewrite_status') !== 'ok') throw new AofRewriteError('Redis failed to rewrite its append-only file (see the Redis log)');
    return true;
  }

  async close(): Promise<void> {
    await Promise.all([this.#queue.close(), this.#cancels.close(), this.#redis.quit().catch(() => this.#redis.disconnect())]);
  }
}

/** `INFO` output as field → value. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
