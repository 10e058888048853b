import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { activeJobIds, bullKeys, countStall } from './bull-layout.ts';
import { currentProcess, livenessOf, parseProcessIdentity, type ProcessIdentity } from './process-identity.ts';

/**
 * Runs held by a worker whose process is known to be dead go back to the queue at
 * once, instead of after BullMQ's stall detection (lock duration + up to two stalled
 * intervals: about a minute by default).
 *
 * Each worker records which process it lives in (host, pid, start time) under its
 * BullMQ worker id; a run's lock holds that id (`<workerId>:<n>`). A starting worker
 * looks at every active run: if the lock's worker lived on this host and its process
 * is gone, the run is handed back with BullMQ's own active → wait move, which checks
 * the lock token atomically. Workers on other hosts are never judged: they are left to
 * stall detection. A run handed back counts as stalled (BullMQ's `stc`), so a run that
 * kills its worker every time still ends failed instead of crashing it for ever.
 */
export const WORKER_REGISTRY_KEY = 'vocalis:finetune:workers';

/** Keeps two workers starting at once from handing back the same holding of a run twice (keyed by its lock token). */
const RECOVERY_CLAIM_PREFIX = 'vocalis:finetune:recovering:';
const RECOVERY_CLAIM_MS = 30_000;

/** What BullMQ needs to load a job: a Queue or a Worker of the fine-tune queue. */
type BullQueue = Parameters<typeof Job.fromId>[0];

export interface RecoveredRun {
  readonly bullJobId: string;
  readonly deadWorker: ProcessIdentity;
  /** True when the run stalled too often and will fail instead of running again. */
  readonly failing: boolean;
}

export async function registerWorker(redis: Redis, workerId: string): Promise<void> {
  await redis.hset(WORKER_REGISTRY_KEY, workerId, JSON.stringify(currentProcess()));
}

export async function unregisterWorker(redis: Redis, workerId: string): Promise<void> {
  await redis.hdel(WORKER_REGISTRY_KEY, workerId);
}

/** Hands back every active run whose worker's process is known dead; forgets dead workers. */
export async function recoverRunsOfDeadWorkers(redis: Redis, queue: BullQueue, maxStalledCount: number): Promise<RecoveredRun[]> {
  const workers = await knownWorkers(redis);
  const recovered: RecoveredRun[] = [];
  for (const bullJobId of await activeJobIds(redis)) {
    const token = await redis.get(bullKeys.lock(bullJobId));
    const owner = token ? workers.get(token.split(':')[0] ?? '') : undefined;
    if (!token || !owner || livenessOf(owner) !== 'dead') continue;
    const stalled = await countStall(redis, { bullJobId, token, claimKey: `${RECOVERY_CLAIM_PREFIX}${token}`, claimMs: RECOVERY_CLAIM_MS, maxStalledCount });
    if (stalled === 'lock-moved' || stalled === 'claimed') continue;
    const job = await Job.fromId(queue, bullJobId);
    if (!job) continue;
    await job.moveToWait(token);
    recovered.push({ bullJobId, deadWorker: owner, failing: stalled > maxStalledCount });
  }
  const dead = [...workers].filter(([, identity]) => livenessOf(identity) === 'dead').map(([id]) => id);
  if (dead.length > 0) await redis.hdel(WORKER_REGISTRY_KEY, ...dead);
  return recovered;
}

async function knownWorkers(redis: Redis): Promise<Map<string, ProcessIdentity>> {
  const entries = await redis.hgetall(WORKER_REGISTRY_KEY);
  const workers = new Map<string, ProcessIdentity>();
  for (const [id, value] of Object.entries(entries)) {
    try {
      const identity = parseProcessIdentity(JSON.parse(value));
      if (identity) workers.set(id, identity);
    } catch {
      // An unreadable entry names no process: leave its runs to stall detection.
    }
  }
  return workers;
}
