// DISCORD_SHARDS=2: the real service as a process, its ShardingManager running two shard
// processes against the fake Discord, which routes guilds to shards as Discord does. /clone
// and /speak work in a guild of each shard; a revocation made through one shard stops speech
// in the other's guild; a killed shard is started again and its guild works again; SIGTERM to
// the service stops every process.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isRunning } from '../../src/jobs/process-identity.ts';
import { OptionType, shardOfGuild, type FakeDiscord, type FakeGuild, type FakeUser } from '../fakes/discord/index.ts';
import { eventually } from '../support/runtime-fixture.ts';
import { contentOf, waitForEdit } from '../bots/discord/harness.ts';
import { audioFrom, cloneByVoiceMessage, speak, speaksCompletely, startDiscordService, voiceMessage, type DiscordService } from './discord-service.ts';
import { killIfRunning, waitForExit } from './service-process.ts';

let s: DiscordService;
let discord: FakeDiscord;
let onShard0: FakeGuild;
let onShard1: FakeGuild;
let alice: FakeUser;
let bob: FakeUser;
const startedPids = new Set<number>();

beforeAll(async () => {
  s = await startDiscordService({
    shards: '2',
    fake: { recommendedShards: 2, maxConcurrency: 16 },
    // Debug: each command is logged with its guild by the shard process that handled it.
    env: { VOCALIS_LOG_LEVEL: 'debug' },
    prepare: (fake) => {
      onShard0 = fake.addGuild({ name: 'guild on shard 0', shard: [0, 2] });
      onShard1 = fake.addGuild({ name: 'guild on shard 1', shard: [1, 2] });
      alice = onShard0.addMember('alice', { inVoice: true });
      // The same person is a member of the other guild too.
      onShard1.addMember('alice', { id: alice.id });
      bob = onShard1.addMember('bob', { inVoice: true });
    },
  });
  discord = s.discord;
}, 120_000);

afterAll(async () => {
  for (const pid of startedPids) killIfRunning(pid);
  await s?.close();
});

const logs = (msg: string, where?: Parameters<DiscordService['logs']>[1]) => s.logs(msg, where);

/** The debug log lines of the commands of a guild: `pid` and `shard` say which process handled them. */
const handledBy = (guild: FakeGuild) => logs('command', (l) => l['guildId'] === guild.id);

/** The newest process of a shard, remembered so a failed test still kills it. */
function shardPid(shard: number): number {
  const pid = s.shardPid(shard);
  startedPids.add(pid);
  return pid;
}

test('each shard process identifies with its shard pair and holds only its guilds; /healthz reports both', async () => {
  assert.equal(shardOfGuild(onShard0.id, 2), 0);
  assert.equal(shardOfGuild(onShard1.id, 2), 1);
  const identifies = discord.gateway.received.entries
    .filter((f) => f.op === 2)
    .map((f) => (f.d as { shard?: unknown }).shard)
    .sort();
  assert.deepEqual(identifies, [
    [0, 2],
    [1, 2],
  ]);
  // Two processes besides the service, each the Discord adapter of one shard.
  const pids = [shardPid(0), shardPid(1)];
  assert.equal(new Set([...pids, s.service.servicePid()]).size, 3);
  // Started with this Node (24) and the service's own Node flags.
  for (const pid of pids) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.equal(argv[0], process.execPath);
    assert.ok(argv.includes('--disable-warning=ExperimentalWarning'), argv.join(' '));
    assert.match(argv.find((a) => a.endsWith('.ts')) ?? '', /tone-discord-shard\.ts$/);
  }
  // The manager is satisfied once a shard's client is ready; the adapter logs after registering commands.
  await eventually(() => logs('discord adapter ready').length === 2, 10_000, 'both adapters to be ready');
  const ready = logs('discord adapter ready');
  assert.deepEqual(ready.map((l) => l['shards']).sort(), [[0], [1]]);
  const guildsOnShard = (id: number) => [discord.guild.id, onShard0.id, onShard1.id].filter((g) => shardOfGuild(g, 2) === id).length;
  for (const line of ready) assert.equal(line['guilds'], guildsOnShard((line['shards'] as number[])[0]!));
  // Commands registered once, by shard 0.
  assert.equal(discord.rest.requests.entries.filter((r) => r.route === 'PUT /applications/:app/commands').length, 1);
  // One embedded Redis: the shards use the service's.
  assert.equal(logs('started the embedded redis-server').length, 1);
  assert.equal(logs('using the configured Redis').length, 2);
  const health = await s.healthz();
  assert.equal(health.status, 200);
  assert.equal(health.checks['discordShard0'], true);
  assert.equal(health.checks['discordShard1'], true);
});

test('/clone and /speak work in a guild of each shard', async () => {
  const message = await voiceMessage(8);
  await Promise.all([cloneByVoiceMessage(discord, onShard0, alice, message), cloneByVoiceMessage(discord, onShard1, bob, message)]);
  await Promise.all([speaksCompletely(discord, onShard0, alice, 10), speaksCompletely(discord, onShard1, bob, 10)]);
  // Each guild's commands were handled by the process of its shard.
  for (const [shard, guild] of [onShard0, onShard1].entries()) {
    const handled = handledBy(guild);
    assert.deepEqual([...new Set(handled.map((l) => l['command']))].sort(), ['clone', 'speak'], `commands of ${guild.state.name}`);
    assert.deepEqual([...new Set(handled.map((l) => l['pid']))], [shardPid(shard)], `${guild.state.name} is served by shard ${shard}`);
  }
});

test("a revocation made through one shard stops speech in the other shard's guild and denies the next", async (t) => {
  const start = onShard0.voice.frames().length;
  const speakId = speak(onShard0, alice, 60);
  await discord.waitForInteractionResponse(speakId, 10_000);
  await eventually(() => audioFrom(onShard0.voice.frames(), start).length >= 25, 10_000, 'speech in the guild of shard 0');

  // alice deletes her voice in the guild of shard 1: the other process.
  const revokedAt = process.hrtime.bigint();
  const del = onShard1.dispatchInteraction({ kind: 'slash', name: 'voice', userId: alice.id, options: [{ name: 'delete', type: OptionType.Subcommand }] });
  await waitForEdit(discord, del.id, /Consent revoked/, 10_000);
  await waitForEdit(discord, speakId, /consent ended/, 5_000);
  // The revocation went through shard 1's process, the stopped speech was shard 0's.
  assert.ok(handledBy(onShard1).some((l) => l['command'] === 'voice' && l['pid'] === shardPid(1)));
  assert.ok(handledBy(onShard0).some((l) => l['command'] === 'speak' && l['pid'] === shardPid(0)));
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const played = audioFrom(onShard0.voice.frames(), start);
  const late = played.filter((f) => f.arrivedAtNs > revokedAt + 1_000_000_000n);
  assert.equal(late.length, 0, 'no audio in the guild of shard 0 more than 1 s after the revocation in shard 1');
  assert.ok(played.length < 600, `stopped early (${played.length} of 600 frames)`);
  const last = played.at(-1);
  await t.annotate(`last audio frame ${last ? (Number(last.arrivedAtNs - revokedAt) / 1e6).toFixed(0) : '-'} ms after the revocation was sent`);

  const again = speak(onShard0, alice, 3);
  const refused = await discord.waitForInteractionResponse(again, 10_000);
  assert.match(contentOf(refused), /no active consent for this voice/);
});

test('a killed shard process is started again and its guild works again', async () => {
  const killed = shardPid(1);
  const shard0 = shardPid(0);
  const readyBefore = logs('discord shard ready', (l) => l['shard'] === 1).length;
  process.kill(killed, 'SIGKILL');
  await eventually(() => logs('discord shard process ended: starting it again', (l) => l['shard'] === 1).length === 1, 10_000, 'the manager to see the death');
  // Until the new process has identified, /healthz says the shard is down.
  const down = await s.healthz();
  assert.equal(down.status, 503);
  assert.equal(down.checks['discordShard1'], false);
  assert.equal(down.checks['discordShard0'], true);
  await eventually(() => logs('discord shard ready', (l) => l['shard'] === 1).length > readyBefore, 60_000, 'shard 1 to be ready again');
  const respawned = shardPid(1);
  assert.notEqual(respawned, killed);
  assert.ok(!isRunning(killed));
  const identifies = discord.gateway.received.entries.filter((f) => f.op === 2).map((f) => JSON.stringify((f.d as { shard?: unknown }).shard));
  assert.deepEqual(identifies.sort(), ['[0,2]', '[1,2]', '[1,2]']);
  const health = await s.healthz();
  assert.equal(health.checks['discordShard1'], true);
  const before = handledBy(onShard1).length;
  await speaksCompletely(discord, onShard1, bob, 5);
  assert.deepEqual(
    handledBy(onShard1)
      .slice(before)
      .map((l) => l['pid']),
    [respawned],
    'the new process of shard 1 served the /speak',
  );
  // Shard 0's process went on untouched.
  assert.equal(shardPid(0), shard0);
  assert.equal(logs('discord shard process started', (l) => l['shard'] === 0).length, 1);
});

test('SIGTERM to the service stops every shard and leaves no process behind', async () => {
  const shardPids = [shardPid(0), shardPid(1)];
  const redisPid = await s.service.redisPid();
  const servicePid = s.service.servicePid();
  process.kill(servicePid, 'SIGTERM');
  const exit = await Promise.race([s.service.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000))]);
  assert.ok(exit, 'the service exited');
  assert.equal(exit.code, 0);
  for (const pid of [...shardPids, redisPid]) assert.ok(await waitForExit(pid, 5_000), `process ${pid} is gone`);
  assert.equal(logs('discord shards stopped').length, 1);
  // Each shard stopped gracefully (its own runUntilSignal), not killed.
  assert.deepEqual(
    logs('stopped', (l) => typeof l['shard'] === 'number')
      .map((l) => l['shard'])
      .sort(),
    [0, 1],
  );
});

test('with max_concurrency 1 the shards identify 5 s apart; shards whose service was killed stop on their own', async () => {
  const other = await startDiscordService({ shards: '2', fake: { recommendedShards: 2, maxConcurrency: 1 } });
  let redisPid: number | undefined;
  try {
    const identifies = other.discord.gateway.received.entries.filter((f) => f.op === 2);
    assert.equal(identifies.length, 2);
    assert.ok(identifies[1]!.at - identifies[0]!.at >= 5_000, `identifies ${identifies[1]!.at - identifies[0]!.at} ms apart`);

    const pids = [other.shardPid(0), other.shardPid(1)];
    redisPid = await other.service.redisPid();
    process.kill(other.service.servicePid(), 'SIGKILL');
    for (const pid of pids) assert.ok(await waitForExit(pid, 15_000), `shard process ${pid} is gone`);
    assert.equal(other.logs('the shard manager is gone: stopping this shard').length, 2);
  } finally {
    killIfRunning(redisPid);
    await other.close();
  }
});
