import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { REST, Routes, ShardingManager, type RESTGetAPIGatewayBotResult, type Shard } from 'discord.js';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { PlatformAdapter } from './platform-adapters.ts';

/** The shard process's entry: the Discord adapter with its own runtime (src/discord-shard-main.ts). */
export const DISCORD_SHARD_ENTRY = fileURLToPath(new URL('../discord-shard-main.ts', import.meta.url));

/** Discord lets one identify through per rate-limit bucket every 5 s; discord.js waits 5.5 s. */
const IDENTIFY_SPACING_MS = 5_500;
/** A shard opens a runtime (backends, database) before it logs in: give it more than discord.js's 30 s. */
const SHARD_READY_TIMEOUT_MS = 120_000;

/** One shard process as the manager sees it. */
export type ShardState =
  | { readonly status: 'pending' }
  | { readonly status: 'starting'; readonly pid: number }
  | { readonly status: 'ready'; readonly pid: number }
  | { readonly status: 'reconnecting'; readonly pid: number }
  | { readonly status: 'exited'; readonly code: number | null; readonly signal: string | null };

export interface ShardReport {
  readonly id: number;
  readonly state: ShardState;
}

export interface DiscordShards extends PlatformAdapter {
  readonly name: 'discord';
  readonly count: number;
  shards(): ShardReport[];
  /** Shards whose process is still running (for the shutdown deadline's message). */
  stillOpen(): string[];
}

export interface DiscordShardsOptions {
  readonly discord: NonNullable<Config['discord']> & { readonly shards: number | 'auto' };
  readonly logger: Logger;
  /** Environment the shard processes get on top of this process's (the Redis this process uses). */
  readonly env: Readonly<Record<string, string>>;
  /** The shard process's entry file; tests give one with their own backend. */
  readonly entry?: string;
}

/**
 * `DISCORD_SHARDS`: discord.js's ShardingManager runs one process per shard, each with the
 * Discord adapter and its own runtime, and starts a shard again when its process ends. This
 * process (the service) keeps what must exist once: Redis, the fine-tune worker, retention,
 * /healthz, Telegram.
 */
export async function startDiscordShards(options: DiscordShardsOptions): Promise<DiscordShards> {
  const { discord } = options;
  const logger = options.logger.child({ adapter: 'discord' });
  const gateway = await fetchGatewayBot(discord.token, discord.apiRoot);
  const count = discord.shards === 'auto' ? gateway.shards : discord.shards;
  const maxConcurrency = Math.max(1, gateway.session_start_limit.max_concurrency);

  const manager = new ShardingManager(options.entry ?? DISCORD_SHARD_ENTRY, {
    totalShards: count,
    shardList: [...Array(count).keys()],
    token: discord.token,
    mode: 'process',
    respawn: true,
    // Node's own flags of this process (type stripping, warnings), never a debugger port twice.
    execArgv: process.execArgv.filter((flag) => !flag.startsWith('--inspect') && !flag.startsWith('--watch')),
  });
  const states = new Map<number, ShardState>();
  let stopping = false;

  manager.on('shardCreate', (shard: Shard) => {
    Object.assign(shard.env as Record<string, string>, options.env);
    shard.on('spawn', (child: ChildProcess | Worker) => {
      const pid = 'pid' in child ? child.pid : undefined;
      const previous = states.get(shard.id);
      states.set(shard.id, { status: 'starting', pid: pid ?? 0 });
      logger.info({ shard: shard.id, pid, respawn: previous?.status === 'exited' }, 'discord shard process started');
    });
    shard.on('ready', () => {
      states.set(shard.id, { status: 'ready', pid: shard.process?.pid ?? 0 });
      logger.info({ shard: shard.id }, 'discord shard ready');
    });
    shard.on('reconnecting', () => states.set(shard.id, { status: 'reconnecting', pid: shard.process?.pid ?? 0 }));
    shard.on('disconnect', () => states.set(shard.id, { status: 'reconnecting', pid: shard.process?.pid ?? 0 }));
    shard.on('resume', () => states.set(shard.id, { status: 'ready', pid: shard.process?.pid ?? 0 }));
    shard.on('death', (child: ChildProcess | Worker) => {
      // Process mode: a ChildProcess, which says how it ended.
      const code = 'exitCode' in child ? child.exitCode : null;
      const signal = 'signalCode' in child ? child.signalCode : null;
      states.set(shard.id, { status: 'exited', code, signal });
      if (stopping) logger.info({ shard: shard.id, code, signal }, 'discord shard stopped');
      else logger.warn({ shard: shard.id, code, signal }, 'discord shard process ended: starting it again');
    });
    // A respawn that never became ready: the shard stays down, and /healthz says so.
    shard.on('error', (error: unknown) => logger.error({ err: error, shard: shard.id }, 'discord shard could not be started again'));
  });

  const running = (shard: Shard) => shard.process !== null && shard.process.exitCode === null && shard.process.signalCode === null;

  const handle: DiscordShards = {
    name: 'discord',
    count,
    shards: () => [...Array(count).keys()].map((id) => ({ id, state: states.get(id) ?? { status: 'pending' } })),
    stillOpen: () => [...manager.shards.values()].filter(running).map((shard) => `discord shard ${shard.id} (pid ${shard.process?.pid})`),
    async stop() {
      // No respawn from here on: a shard ending now is part of the shutdown.
      stopping = true;
      manager.respawn = false;
      await Promise.all(
        [...manager.shards.values()].filter(running).map(async (shard) => {
          const exited = once(shard.process!, 'exit');
          // SIGTERM: the shard stops as a single process does (speech, recordings, its runtime).
          shard.kill();
          await exited;
        }),
      );
      logger.info({ shards: count }, 'discord shards stopped');
    },
  };

  logger.info({ shards: count, recommended: gateway.shards, maxConcurrency }, 'starting discord shards');
  try {
    await spawnInWaves(manager, count, maxConcurrency);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

/**
 * Discord admits one identify per rate-limit bucket (`shard_id % max_concurrency`) every 5 s:
 * `max_concurrency` consecutive shards are in different buckets and start together, the next
 * wave after the spacing. (discord.js's own spawn() starts one shard at a time.)
 */
async function spawnInWaves(manager: ShardingManager, count: number, maxConcurrency: number): Promise<void> {
  for (let first = 0; first < count; first += maxConcurrency) {
    if (first > 0) await sleep(IDENTIFY_SPACING_MS);
    const wave = [...Array(Math.min(maxConcurrency, count - first)).keys()].map((i) => first + i);
    await Promise.all(wave.map((id) => manager.createShard(id).spawn(SHARD_READY_TIMEOUT_MS)));
  }
}

/** GET /gateway/bot: Discord's recommended shard count and the identify concurrency. */
async function fetchGatewayBot(token: string, apiRoot: string | undefined): Promise<RESTGetAPIGatewayBotResult> {
  const rest = new REST(apiRoot ? { api: apiRoot } : {}).setToken(token);
  return (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
}
