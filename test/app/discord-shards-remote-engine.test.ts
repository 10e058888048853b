// Each shard is a client of the same engine nodes: DISCORD_SHARDS=2 with VOCALIS_ENGINE=remote,
// a Redis of the test's and an engine node process (npm run engine with the tone backend); a
// /speak in a guild of each shard is synthesised on that node and plays in its guild.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FakeGuild, FakeUser } from '../fakes/discord/index.ts';
import { launchEngineNode, TEST_ENGINE_SECRET, type EngineNodeProcess } from '../support/engine-node.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually } from '../support/runtime-fixture.ts';
import { cloneByVoiceMessage, speaksCompletely, startDiscordService, voiceMessage, type DiscordService } from './discord-service.ts';
import { waitForExit } from './service-process.ts';

let redis: TestRedis;
let s: DiscordService;
let node: EngineNodeProcess;
const guilds: FakeGuild[] = [];
const members: FakeUser[] = [];
const masterKey = randomBytes(32).toString('hex');

beforeAll(async () => {
  redis = await startTestRedis();
  s = await startDiscordService({
    shards: '2',
    fake: { recommendedShards: 2, maxConcurrency: 16 },
    prepare: (fake) => {
      for (const shard of [0, 1]) {
        const guild = fake.addGuild({ shard: [shard, 2] });
        guilds.push(guild);
        members.push(guild.addMember(`member-${shard}`, { inVoice: true }));
      }
    },
    env: {
      REDIS_URL: redis.url,
      VOCALIS_ENGINE: 'remote',
      VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET,
      VOCALIS_MASTER_KEY: masterKey,
      // Debug: the shard processes log which engine node serves each /speak.
      VOCALIS_LOG_LEVEL: 'debug',
    },
  });
  node = launchEngineNode({ dataDir: s.dataDir, masterKey, redisUrl: redis.url, nodeId: 'engine-a' });
  await node.address;
}, 120_000);

afterAll(async () => {
  node?.kill('SIGKILL');
  await s?.close();
  await redis?.cleanup();
});

test('both shards use the configured Redis and speak through the same engine node', async () => {
  // No embedded Redis anywhere: the service and both shards use REDIS_URL.
  assert.equal(s.logs('started the embedded redis-server').length, 0);
  assert.equal(s.logs('using the configured Redis').length, 3);
  const message = await voiceMessage(8);
  await Promise.all(guilds.map((guild, i) => cloneByVoiceMessage(s.discord, guild, members[i]!, message)));
  await Promise.all(guilds.map((guild, i) => speaksCompletely(s.discord, guild, members[i]!, 10)));
  await eventually(() => s.logs('engine node serving').length >= 2, 5_000, 'both shards to log their engine node');
  const served = s.logs('engine node serving');
  assert.deepEqual([...new Set(served.map((l) => l['nodeId']))], ['engine-a']);
  assert.deepEqual([...new Set(served.map((l) => l['pid']))].sort(), [s.shardPid(0), s.shardPid(1)].sort(), 'each shard process asked the node');
});

test('Ctrl-C to the process group (every shard gets SIGINT too) stops everything once, nothing started again', async () => {
  const shardPids = [s.shardPid(0), s.shardPid(1)];
  process.kill(-s.service.pid, 'SIGINT');
  const exit = await Promise.race([s.service.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000))]);
  assert.ok(exit, 'the service exited');
  assert.equal(exit.code, 0);
  for (const pid of shardPids) assert.ok(await waitForExit(pid, 5_000), `shard process ${pid} is gone`);
  assert.equal(s.logs('discord shard process started').length, 2, 'no shard was started again while stopping');
  assert.deepEqual(
    s
      .logs('stopped', (l) => typeof l['shard'] === 'number')
      .map((l) => l['shard'])
      .sort(),
    [0, 1],
  );
});
