import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rankNodes } from '../src/engine-node/rendezvous.ts';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { launchEngineNode, openRawStream, TEST_ENGINE_SECRET, type EngineNodeProcess } from '../test/support/engine-node.ts';
import { startTestRedis } from '../test/support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../test/support/runtime-fixture.ts';
import { EVERYWHERE, previewVoice, words } from '../test/engine-node/voice-fixture.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Engine nodes (docs/deployment/engine-nodes.md), all on this machine over loopback, with
 * the test tone backend (each utterance also carries the audio mark, the real DSP cost):
 *  - /speak → first packet: in process vs through an engine node (a separate process);
 *  - synthesis throughput with one node vs two, each pinned to its own core (taskset);
 *  - how long a revocation takes to stop streams on every node (two nodes, each streaming
 *    for the same voice, no bot ticket behind them: only each node's own gate can stop them).
 */
const FIRST_PACKET_RUNS = 30;
const THROUGHPUT_STREAMS = 12;
const THROUGHPUT_WORDS = 40;
const REVOCATIONS = 5;

type Identity = { platform: string; platformUserId: string };

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** CPU seconds a process has used (user + system), from /proc: how much of its core a pinned node really got. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) "; in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function firstPacketMs(bot: RuntimeFixture, identity: Identity): Promise<number> {
  const started = performance.now();
  const audio = bot.runtime.vocalis
    .speak({ requester: identity, context: EVERYWHERE, text: 'hello there, this is a first packet' })
    .audio[Symbol.asyncIterator]();
  await audio.next();
  const ms = performance.now() - started;
  await audio.return?.(undefined);
  return ms;
}

async function drain(audio: AsyncIterable<PcmChunk>): Promise<number> {
  let seconds = 0;
  for await (const chunk of audio) seconds += chunk.samples.length / chunk.sampleRate;
  return seconds;
}

async function launch(bot: RuntimeFixture, redisUrl: string, nodeId: string, extra: { wordMs?: number; cpu?: number } = {}): Promise<EngineNodeProcess> {
  const node = launchEngineNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl, nodeId, ...extra });
  await node.address;
  return node;
}

async function stop(nodes: readonly EngineNodeProcess[]): Promise<void> {
  for (const node of nodes) node.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.exited));
}

/** Node ids such that the given voices' first choices are spread over them (each node gets its share of the load). */
function spreadingIds(voiceIds: readonly string[], count: number, prefix: string): string[] {
  for (let attempt = 0; ; attempt++) {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${attempt}-${i}`);
    const homes = voiceIds.map(
      (v) =>
        rankNodes(
          v,
          ids.map((nodeId) => ({ nodeId })),
        )[0]!.nodeId,
    );
    if (ids.every((id) => homes.filter((h) => h === id).length === voiceIds.length / count)) return ids;
  }
}

const suite: BenchSuite = {
  name: 'engine-node',
  async run() {
    const redis = await startTestRedis();
    const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-bench-engine-'));
    const env = { REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET, VOCALIS_LOG_LEVEL: 'silent' };
    // The same data directory twice: a runtime synthesising in process, and a bot speaking through nodes.
    const local = await startRuntime({ dataDir, needs: { queue: false }, env });
    const bot = await startRuntime({ dataDir, needs: { queue: false }, env: { ...env, VOCALIS_MASTER_KEY: local.masterKey, VOCALIS_ENGINE: 'remote' } });
    const figures: BenchFigure[] = [];
    const nodes: EngineNodeProcess[] = [];
    try {
      const voices: Array<Awaited<ReturnType<typeof previewVoice>>> = [];
      for (const name of ['ada', 'bea', 'cy', 'dot']) voices.push(await previewVoice(local.runtime, name));

      // 1. First packet, side by side (alternating, after one warm-up each: the voice loaded, the connection open).
      nodes.push(await launch(bot, redis.url, 'bench-first'));
      const inProcess: number[] = [];
      const remote: number[] = [];
      await firstPacketMs(local, voices[0]!.identity);
      await firstPacketMs(bot, voices[0]!.identity);
      for (let i = 0; i < FIRST_PACKET_RUNS; i++) {
        inProcess.push(await firstPacketMs(local, voices[0]!.identity));
        remote.push(await firstPacketMs(bot, voices[0]!.identity));
      }
      figures.push(
        { metric: '/speak → first packet, in process (median)', value: percentile(inProcess, 0.5), unit: 'ms' },
        { metric: '/speak → first packet, engine node (median)', value: percentile(remote, 0.5), unit: 'ms' },
        { metric: '/speak → first packet, in process (p90)', value: percentile(inProcess, 0.9), unit: 'ms' },
        { metric: '/speak → first packet, engine node (p90)', value: percentile(remote, 0.9), unit: 'ms' },
      );
      await stop(nodes.splice(0));

      // 2. Throughput: the same streams through one node on core 0, then two nodes on cores 0 and 1.
      for (const count of [1, 2]) {
        const ids = spreadingIds(
          voices.map((v) => v.voiceId),
          count,
          `bench-tp${count}`,
        );
        for (const [i, id] of ids.entries()) nodes.push(await launch(bot, redis.url, id, { cpu: i }));
        // Warm-up: every voice loaded on its node.
        await Promise.all(voices.map((v) => drain(bot.runtime.vocalis.speak({ requester: v.identity, context: EVERYWHERE, text: 'warm up' }).audio)));
        const cpuBefore = nodes.map((n) => cpuSeconds(n.child.pid!));
        const started = performance.now();
        const seconds = await Promise.all(
          Array.from({ length: THROUGHPUT_STREAMS }, (_, i) =>
            drain(bot.runtime.vocalis.speak({ requester: voices[i % voices.length]!.identity, context: EVERYWHERE, text: words(THROUGHPUT_WORDS) }).audio),
          ),
        );
        const wall = (performance.now() - started) / 1000;
        const cpu = nodes.reduce((sum, n, i) => sum + cpuSeconds(n.child.pid!) - cpuBefore[i]!, 0);
        const audio = seconds.reduce((a, b) => a + b, 0);
        const label = `${count} node${count > 1 ? 's' : ''}`;
        figures.push(
          { metric: `throughput, ${label} (one core each)`, value: audio / wall, unit: 'audio s/s' },
          // On a shared machine a pinned node gets only part of its core: this says how much it got.
          { metric: `  cores the ${label} actually got`, value: cpu / wall, unit: 'cores' },
          { metric: `  audio per node CPU second, ${label}`, value: audio / cpu, unit: 'audio s/s' },
        );
        await stop(nodes.splice(0));
      }

      // 3. Revocation reaching every node: two nodes each streaming the voice (straight requests, no bot ticket).
      // A word a second: between chunks no per-chunk check runs, so each node's gate timer (250 ms) must notice.
      for (const id of ['bench-rv-a', 'bench-rv-b']) nodes.push(await launch(bot, redis.url, id, { wordMs: 1000 }));
      const reach: number[] = [];
      for (let i = 0; i < REVOCATIONS; i++) {
        const { identity, userId, voiceId } = await previewVoice(local.runtime, `rv${i}`);
        const voice = local.runtime.voices.get(voiceId)!;
        const request = {
          target: { userId, voiceId, version: voice.currentVersion!, backend: voice.backend },
          options: { text: words(30), language: 'en', speed: 1, variability: 0.5 },
          requester: identity,
          context: EVERYWHERE,
        };
        const streams = await Promise.all(nodes.map(async (n) => openRawStream(await n.address, n.nodeId, request)));
        while (!streams.every((s) => s.frames.some((f) => f.frame.type === 'audio'))) await new Promise((r) => setTimeout(r, 10));
        const revokedAt = performance.now();
        await local.runtime.vocalis.revoke({ target: identity, actor: { kind: 'operator' } });
        await Promise.all(streams.map((s) => s.done));
        const ends = streams.map((s) => (s.frames.at(-1)?.frame.type === 'error' ? s.frames.at(-1)!.at : Number.NaN));
        reach.push(Math.max(...ends) - revokedAt);
      }
      figures.push(
        { metric: `revocation → streams stopped on both nodes (median of ${REVOCATIONS})`, value: percentile(reach, 0.5), unit: 'ms', target: '<= 1000 ms' },
        { metric: 'revocation → streams stopped on both nodes (max)', value: Math.max(...reach), unit: 'ms', target: '<= 1000 ms' },
      );
      return figures;
    } finally {
      await stop(nodes);
      await bot.close();
      await local.close();
      await rm(dataDir, { recursive: true, force: true });
      await redis.cleanup();
    }
  },
};

export default suite;
