import type { Redis } from 'ioredis';
import { CANCEL_FLAG_PREFIX, CANCEL_FLAG_TTL_MS } from './cancel-flag.ts';

/**
 * BullMQ's private Redis layout, in this one module: the only code of Vocalis that knows
 * which keys BullMQ keeps for the `finetune` queue. BullMQ is pinned to one exact version
 * in package.json, and test/jobs/bull-layout.test.ts fails when an upgrade changes
 * anything the purge relies on. Everything else goes through BullMQ's public API.
 */
export const FINETUNE_QUEUE_NAME = 'finetune';

/** Key prefix of all BullMQ keys of Vocalis (BullMQ's default, kept explicit). */
export const BULL_PREFIX = 'bull';

/** Every key of the queue starts with this. */
const BASE = `${BULL_PREFIX}:${FINETUNE_QUEUE_NAME}:`;

/** Queue-wide lists and sorted sets that hold job ids, by the state they stand for. */
export const ID_LISTS = ['wait', 'paused', 'active'] as const;
export const ID_SORTED_SETS = ['delayed', 'prioritized', 'completed', 'failed', 'waiting-children'] as const;
/** Ids a stalled-job check is looking at. */
export const ID_SETS = ['stalled'] as const;
/** Queue-wide keys that hold no job ids (counters, markers, metadata) or only in the events stream. */
export const QUEUE_KEYS = ['id', 'meta', 'marker', 'events', 'stalled-check', 'pc', 'limiter', 'repeat'] as const;

export const bullKeys = {
  base: BASE,
  container: (name: (typeof ID_LISTS)[number] | (typeof ID_SORTED_SETS)[number] | (typeof ID_SETS)[number] | (typeof QUEUE_KEYS)[number]) => `${BASE}${name}`,
  /** The job's hash; its companions (`:lock`, `:logs`, …) share this prefix. */
  job: (bullJobId: string) => `${BASE}${bullJobId}`,
  /** Held by the worker running the job; renewed while it runs. */
  lock: (bullJobId: string) => `${BASE}${bullJobId}:lock`,
  /** Deduplication: the id of the run that holds the dedup id (Vocalis uses the voice id). */
  dedup: (dedupId: string) => `${BASE}de:${dedupId}`,
  /** Deduplication: a run kept to start after the current one ends. */
  dedupNext: (dedupId: string) => `${BASE}dn:${dedupId}`,
} as const;

/** Place of a waiting run: 1 runs next. Null when it is not in the waiting list (anymore). */
export async function waitingPlace(redis: Redis, bullJobId: string): Promise<{ position: number; of: number } | null> {
  // LPUSH adds at the head and workers take from the tail: the tail runs next.
  const waitKey = bullKeys.container('wait');
  const [index, length] = await Promise.all([redis.lpos(waitKey, bullJobId), redis.llen(waitKey)]);
  return index === null ? null : { position: length - index, of: length };
}

/** BullMQ ids of the runs in the active list (running, or left there by a dead worker). */
export function activeJobIds(redis: Redis): Promise<string[]> {
  return redis.lrange(bullKeys.container('active'), 0, -1);
}

/** The reason BullMQ itself gives a run stalled too often. */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/**
 * Counts one stall on a run whose worker died, as BullMQ's own stall detection would (its
 * `stc` field; past the limit, `defa` makes BullMQ fail the run instead of running it again).
 * Only while `token` still holds the run's lock, and only once per holding: `claimKey` is
 * set for `claimMs` so two workers starting at once do not both count it.
 * Returns the run's stalled count, or why nothing was counted.
 */
export async function countStall(
  redis: Redis,
  run: { bullJobId: string; token: string; claimKey: string; claimMs: number; maxStalledCount: number },
): Promise<number | 'lock-moved' | 'claimed'> {
  const count = Number(
    await redis.eval(
      COUNT_STALL,
      3,
      bullKeys.lock(run.bullJobId),
      bullKeys.job(run.bullJobId),
      run.claimKey,
      run.token,
      run.maxStalledCount,
      run.claimMs,
      STALLED_TOO_OFTEN,
    ),
  );
  return count === -1 ? 'lock-moved' : count === -2 ? 'claimed' : count;
}

/**
 * KEYS: lock key, job key, claim key. ARGV: token, max stalled count, claim ms, reason.
 * Returns the run's stalled count, or -1 (lock moved on), -2 (claimed by another worker).
 */
const COUNT_STALL = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[3]) then return -2 end
local count = redis.call('HINCRBY', KEYS[2], 'stc', 1)
if count > tonumber(ARGV[2]) then redis.call('HSET', KEYS[2], 'defa', ARGV[4]) end
return count
`;

export type PurgeOutcome =
  /** Every trace of the voice is gone. */
  | { status: 'purged' }
  /** Nothing was deleted: runs still locked by a worker, now flagged to cancel. Try again. */
  | { status: 'locked'; runs: number };

/**
 * Removes every trace of a voice from the queue in one atomic script: its job hashes and
 * their companions, its ids in every list and set, its deduplication keys, its cancel
 * flags, and its entries in the events stream. While a worker still holds a run of the
 * voice nothing is deleted: the run's cancel flag is set and the caller tries again once
 * the worker let go (a dead worker's lock expires after its lock duration).
 */
export async function purgeVoiceKeys(redis: Redis, voiceId: string): Promise<PurgeOutcome> {
  const locked = Number(
    await redis.eval(
      PURGE_VOICE,
      0,
      BASE,
      voiceId,
      CANCEL_FLAG_PREFIX,
      String(CANCEL_FLAG_TTL_MS),
      ID_LISTS.join(','),
      [...ID_SORTED_SETS].join(','),
      ID_SETS.join(','),
    ),
  );
  return locked === 0 ? { status: 'purged' } : { status: 'locked', runs: locked };
}

/**
 * ARGV: key base, voice id, cancel-flag prefix, flag TTL (ms), the id lists, sorted sets and
 * sets (comma-separated names). Returns the number of runs still locked (0: purged).
 * Keys are found by SCAN inside the script: BullMQ ids are `<voiceId>.<jobId>`, and voice ids
 * hold no glob characters (finetune-job.ts checks them).
 * The events stream is rebuilt without the voice's entries instead of XDEL'd: XDEL only marks
 * entries deleted, their bytes stay in the stream's nodes and so in every RDB or AOF rewrite.
 * The rebuild keeps the other entries' ids, the stream's last id and its consumer groups.
 */
const PURGE_VOICE = `
local base, voice, flagPrefix, flagTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function split(text)
  local names = {}
  for name in string.gmatch(text, '[^,]+') do names[#names + 1] = name end
  return names
end
local lists, zsets, sets = split(ARGV[5]), split(ARGV[6]), split(ARGV[7])
local function scan(pattern)
  local found, cursor = {}, '0'
  repeat
    local reply = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 500)
    cursor = reply[1]
    for _, key in ipairs(reply[2]) do found[#found + 1] = key end
  until cursor == '0'
  return found
end
local mine = voice .. '.'
local function isMine(id) return string.sub(id, 1, #mine) == mine end

local ids, idList = {}, {}
local function addId(id)
  if not ids[id] then ids[id] = true; idList[#idList + 1] = id end
end
local jobKeys = scan(base .. mine .. '*')
for _, key in ipairs(jobKeys) do
  local rest = string.sub(key, #base + 1)
  addId(string.match(rest, '^[^:]+'))
end
for _, name in ipairs(lists) do
  for _, id in ipairs(redis.call('LRANGE', base .. name, 0, -1)) do if isMine(id) then addId(id) end end
end
for _, name in ipairs(zsets) do
  for _, id in ipairs(redis.call('ZRANGE', base .. name, 0, -1)) do if isMine(id) then addId(id) end end
end
for _, name in ipairs(sets) do
  for _, id in ipairs(redis.call('SMEMBERS', base .. name)) do if isMine(id) then addId(id) end end
end

local locked = 0
for _, id in ipairs(idList) do
  if redis.call('EXISTS', base .. id .. ':lock') == 1 then
    locked = locked + 1
    redis.call('SET', flagPrefix .. id, '1', 'PX', flagTtl)
  end
end
if locked > 0 then return locked end

for _, key in ipairs(jobKeys) do redis.call('DEL', key) end
for _, key in ipairs(scan(flagPrefix .. mine .. '*')) do redis.call('DEL', key) end
redis.call('DEL', base .. 'de:' .. voice, base .. 'dn:' .. voice)
for _, id in ipairs(idList) do
  for _, name in ipairs(lists) do redis.call('LREM', base .. name, 0, id) end
  for _, name in ipairs(zsets) do redis.call('ZREM', base .. name, id) end
  for _, name in ipairs(sets) do redis.call('SREM', base .. name, id) end
end

local events = base .. 'events'
if redis.call('EXISTS', events) == 0 then return 0 end
local kept, dropped = {}, 0
for _, entry in ipairs(redis.call('XRANGE', events, '-', '+')) do
  local hit = false
  for _, value in ipairs(entry[2]) do
    if string.find(value, voice, 1, true) then hit = true end
  end
  if hit then dropped = dropped + 1 else kept[#kept + 1] = entry end
end
if dropped == 0 then return 0 end
local lastId
local info = redis.call('XINFO', 'STREAM', events)
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then lastId = info[i + 1] end
end
local groups = redis.call('XINFO', 'GROUPS', events)
redis.call('DEL', events)
for _, entry in ipairs(kept) do
  redis.call('XADD', events, entry[1], unpack(entry[2]))
end
if #kept > 0 then redis.call('XSETID', events, lastId) end
for _, group in ipairs(groups) do
  local name, delivered
  for i = 1, #group, 2 do
    if group[i] == 'name' then name = group[i + 1] elseif group[i] == 'last-delivered-id' then delivered = group[i + 1] end
  end
  redis.call('XGROUP', 'CREATE', events, name, delivered, 'MKSTREAM')
end
return 0
`;
