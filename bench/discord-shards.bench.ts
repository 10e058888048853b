import type { FakeGuild, FakeUser } from '../test/fakes/discord/index.ts';
import { cloneByVoiceMessage, speaksCompletely, startDiscordService, voiceMessage, type DiscordService } from '../test/app/discord-service.ts';
import { waitForExit } from '../test/app/service-process.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * `npm run bench -- discord-shards`: the service as a process against the fake Discord, with
 * the Discord adapter in the service process (DISCORD_SHARDS unset), in 1 shard process, and in
 * 2 (`auto`, the fake recommending 2): start-up until Discord is served, /speak → first Opus
 * packet at the fake voice server (cold: the voice join included; warm: median of 3), in a
 * guild of each shard, and for 2 shards the time a killed shard takes to serve again. The tone
 * backend, so the figures are the adapter's and the processes' cost, not synthesis.
 */
/** /speak allows 5 at once per member and per guild, refilling 10 a minute: cold + 3 warm + both at once. */
const WARM_RUNS = 3;
const REFILL_MS = 6_500;

interface Layout {
  readonly name: string;
  readonly shards: string | undefined;
}

const LAYOUTS: readonly Layout[] = [
  { name: 'one process', shards: undefined },
  { name: '1 shard', shards: '1' },
  { name: '2 shards', shards: 'auto' },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measure(layout: Layout): Promise<BenchFigure[]> {
  const guilds: FakeGuild[] = [];
  const members: FakeUser[] = [];
  const launchedAt = performance.now();
  const s: DiscordService = await startDiscordService({
    shards: layout.shards,
    fake: { recommendedShards: 2, maxConcurrency: 16 },
    prepare: (fake) => {
      for (const shard of [0, 1]) {
        const guild = fake.addGuild({ shard: [shard, 2] });
        guilds.push(guild);
        members.push(guild.addMember(`member-${shard}`, { inVoice: true }));
      }
    },
  });
  try {
    const startMs = performance.now() - launchedAt;
    const message = await voiceMessage(8);
    await Promise.all(guilds.map((guild, i) => cloneByVoiceMessage(s.discord, guild, members[i]!, message)));
    const figures: BenchFigure[] = [{ metric: `${layout.name}: start until Discord is served`, value: startMs, unit: 'ms' }];
    for (const [i, guild] of guilds.entries()) {
      const where = `${layout.name}, guild of shard ${i}/2`;
      figures.push({ metric: `${where}: /speak → first packet, cold`, value: await speaksCompletely(s.discord, guild, members[i]!, 5), unit: 'ms' });
      const warm: number[] = [];
      for (let run = 0; run < WARM_RUNS; run++) warm.push(await speaksCompletely(s.discord, guild, members[i]!, 5));
      figures.push({ metric: `${where}: /speak → first packet, warm median`, value: median(warm), unit: 'ms' });
    }
    const both = await Promise.all(guilds.map((guild, i) => speaksCompletely(s.discord, guild, members[i]!, 5)));
    figures.push({ metric: `${layout.name}: /speak in both guilds at once, slower first packet`, value: Math.max(...both), unit: 'ms' });

    if (layout.shards === 'auto') {
      const killed = s.shardPid(1);
      const readyBefore = s.logs('discord shard ready', (l) => l['shard'] === 1).length;
      const killedAt = performance.now();
      process.kill(killed, 'SIGKILL');
      await waitForExit(killed, 5_000);
      while (s.logs('discord shard ready', (l) => l['shard'] === 1).length === readyBefore) await new Promise((resolve) => setTimeout(resolve, 10));
      figures.push({ metric: `${layout.name}: killed shard → ready again`, value: performance.now() - killedAt, unit: 'ms' });
      // One more /speak in this guild: wait for the rate limit's refill.
      await new Promise((resolve) => setTimeout(resolve, REFILL_MS));
      const firstPacket = await speaksCompletely(s.discord, guilds[1]!, members[1]!, 5);
      figures.push({ metric: `${layout.name}: first /speak after the respawn → first packet (cold)`, value: firstPacket, unit: 'ms' });
    }
    return figures;
  } finally {
    await s.close();
  }
}

const suite: BenchSuite = {
  name: 'Discord shards: start-up and /speak first packet, adapter in the service vs shard processes',
  async run() {
    const figures: BenchFigure[] = [];
    for (const layout of LAYOUTS) figures.push(...(await measure(layout)));
    return figures;
  },
};
export default suite;
