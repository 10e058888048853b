import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME } from './finetune-job.ts';
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
/** The reason BullMQ itself gives a run stalled too often. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * KEYS: lock key, job key, claim key. ARGV: token, max stalled count, claim ms, reason.
 * Returns the run's stalled count, or -1 (lock moved on), -2 (claimed by another worker).
 */
const COUNT_STALL_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[3]) then return -2 end
local count = redis.call('HINCRBY', KEYS[2], 'stc', 1)
if count > tonumber(ARGV[2]) then redis.call('HSET', KEYS[2], 'defa', ARGV[4]) end
return count
`;

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
  const queueKey = `${BULL_PREFIX}:${FINETUNE_QUEUE_NAME}`;
  for (const bullJobId of await redis.lrange(`${queueKey}:active`, 0, -1)) {
    const jobKey = `${queueKey}:${bullJobId}`;
    const token = await redis.get(`${jobKey}:lock`);
    const owner = token ? workers.get(token.split(':')[0] ?? '') : undefined;
    if (!token || !owner || livenessOf(owner) !== 'dead') continue;
    const stalled = Number(await redis.eval(COUNT_STALL_SCRIPT, 3, `${jobKey}:lock`, jobKey, `${RECOVERY_CLAIM_PREFIX}${token}`, token, maxStalledCount, RECOVERY_CLAIM_MS, STALLED_TOO_OFTEN));
    if (stalled < 0) continue;
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
