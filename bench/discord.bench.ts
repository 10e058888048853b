// /speak on the hermetic Discord: the real discord.js client and @discordjs/voice against the
// fake REST + gateway + voice servers, the classic CPU backend, a preview voice made from 60 s
// of LibriSpeech. Figures: /speak → first Opus packet at the voice server, packet-interval
// jitter, and 20 guilds speaking at once (one fake Discord and one client per guild).
import { startDiscordAdapter, type DiscordAdapter } from '../src/bots/discord/discord-adapter.ts';
import type { Utterance } from '../src/bots/discord/utterance.ts';
import { decodeAudioFile } from '../src/engine/audio/decode.ts';
import { encodeWav } from '../src/engine/audio/wav.ts';
import { createClassicBackend } from '../src/engine/backends/classic/index.ts';
import { createLogger } from '../src/observability/logger.ts';
import { isSilenceFrame, OptionType, startFakeDiscord, type FakeDiscord, type RecordedFrame } from '../test/fakes/discord/index.ts';
import { startRuntime } from '../test/support/runtime-fixture.ts';
import { speakerFiles } from '../test/support/speech-data.ts';
import { createToneBackend } from '../test/support/tone-backend.ts';
import type { VoiceBackend } from '../src/engine/backend.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const OWNER = '900000000000000001';
const SENTENCE = 'The birch canoe slid on the smooth planks, and the boy was there when the sun rose over the clear spring.';
const GUILDS = 20;

interface Bot {
  readonly discord: FakeDiscord;
  readonly adapter: DiscordAdapter;
}

/** Gaps over 60 ms between consecutive packets inside the utterance: audible stalls. */
function stalls(frames: readonly RecordedFrame[]): number {
  const audio = frames.filter((f) => !isSilenceFrame(f.opus));
  let n = 0;
  for (let i = 1; i < audio.length; i++) if (Number(audio[i]!.arrivedAtNs - audio[i - 1]!.arrivedAtNs) / 1e6 > 60) n++;
  return n;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Dispatches /speak and resolves with the frames of that utterance once it has ended. */
async function speak(bot: Bot, text: string): Promise<{ latencyMs: number; frames: RecordedFrame[] }> {
  const { discord } = bot;
  const start = discord.voice.frames().length;
  const sentAt = process.hrtime.bigint();
  const interaction = discord.dispatchInteraction({
    kind: 'slash',
    name: 'speak',
    userId: OWNER,
    options: [{ name: 'text', type: OptionType.String, value: text }],
  });
  const reply = await discord.waitForInteractionResponse(interaction.id, 10_000);
  if ((Number(reply.data?.['flags'] ?? 0) & 64) !== 0) throw new Error(`/speak was refused: ${String(reply.data?.['content'])}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const frames = discord.voice.frames().slice(start);
    const last = frames.at(-1);
    const quiet = last && Number(process.hrtime.bigint() - last.arrivedAtNs) / 1e6 > 300;
    // The end is the player's trailing silence frames, not a pause: a blocked event loop pauses too.
    const ended = frames.length >= 3 && frames.slice(-3).every((f) => isSilenceFrame(f.opus));
    if (frames.some((f) => !isSilenceFrame(f.opus)) && quiet && ended) {
      const first = frames.find((f) => !isSilenceFrame(f.opus))!;
      return { latencyMs: Number(first.arrivedAtNs - sentAt) / 1e6, frames };
    }
    if (Date.now() > deadline)
      throw new Error(
        `the utterance did not end within 60 s (${frames.length} frames, tail ${frames
          .slice(-8)
          .map((f) => (isSilenceFrame(f.opus) ? 's' : 'a'))
          .join('')})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Measured {
  readonly prepareSeconds: number;
  readonly cold: number;
  readonly warm: number[];
  readonly jitter: number;
  readonly maxInterval: number;
  readonly midSilence: number;
  readonly stalls: number;
  readonly concurrentStalls: number;
  readonly underruns: number;
  readonly concurrentMidSilence: number;
  readonly minAudioFrames: number;
  readonly concurrentJitter: number;
  readonly concurrentMaxInterval: number;
  readonly concurrentFirst: number[];
}

/** One runtime with `backend`, a consented preview voice, and GUILDS fake Discords with one adapter each. */
async function measure(backend: VoiceBackend): Promise<Measured> {
  const logger = createLogger({ level: 'silent' });
  const fixture = await startRuntime({ backends: [backend], needs: { queue: false } });
  const bots: Bot[] = [];
  const utterances: Utterance[] = [];
  try {
    // A preview voice from ~60 s of one speaker, consented for every Discord guild ('*').
    const vocalis = fixture.runtime.vocalis;
    const identity = { platform: 'discord', platformUserId: OWNER };
    const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'discord', contextId: '*' } });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    const prepared = performance.now();
    for (const file of speakerFiles('3331')) {
      const pcm = await decodeAudioFile(file, { sampleRate: 16000 });
      const outcome = await vocalis.addClip({ identity, audio: encodeWav(pcm), cloneWhenComplete: false });
      if (outcome.kind === 'stored' && outcome.complete) break;
    }
    const prepareSeconds = (performance.now() - prepared) / 1000;
    if (!vocalis.status(identity).voice?.currentVersion) throw new Error(`${backend.info.name} did not publish a preview voice`);

    for (let g = 0; g < GUILDS; g++) {
      const discord = await startFakeDiscord();
      discord.addMember('owner', { id: OWNER, inVoice: true });
      const adapter = await startDiscordAdapter({
        config: {
          token: discord.token,
          applicationId: discord.applicationId,
          guildId: discord.guild.id,
          adminRole: undefined,
          streamLeadMs: fixture.runtime.config.streamLeadMs,
        },
        vocalis,
        logger,
        restApi: discord.restUrl,
        tuning: { speakLimit: { capacity: 100, perMinute: 600 }, onSpeechStarted: (u) => utterances.push(u) },
      });
      bots.push({ discord, adapter });
    }
    const first = bots[0]!;

    // Latency: a cold /speak (joins the channel), then warm ones.
    const cold = await speak(first, SENTENCE);
    const warm: number[] = [];
    let jitter = 0;
    let maxInterval = 0;
    let midSilence = 0;
    let oneGuildStalls = 0;
    for (let i = 0; i < 5; i++) {
      const run = await speak(first, SENTENCE);
      warm.push(run.latencyMs);
      oneGuildStalls += stalls(run.frames);
      const stats = first.discord.voice.analyze(run.frames);
      jitter = Math.max(jitter, stats.jitterMs);
      maxInterval = Math.max(maxInterval, stats.maxIntervalMs);
      midSilence += stats.silenceMidUtterance;
    }

    // GUILDS at once; every connection is joined first so only synthesis and playback count.
    await Promise.all(bots.slice(1).map((bot) => speak(bot, 'ready')));
    const before = utterances.length;
    const all = await Promise.all(bots.map((bot) => speak(bot, SENTENCE)));
    const concurrent = utterances.slice(before);
    const stats = all.map((run, g) => bots[g]!.discord.voice.analyze(run.frames));
    return {
      prepareSeconds,
      cold: cold.latencyMs,
      warm,
      jitter,
      maxInterval,
      midSilence,
      stalls: oneGuildStalls,
      concurrentStalls: all.reduce((n, run) => n + stalls(run.frames), 0),
      underruns: concurrent.reduce((n, u) => n + u.buffer.underruns, 0),
      concurrentMidSilence: stats.reduce((n, s) => n + s.silenceMidUtterance, 0),
      minAudioFrames: Math.min(...stats.map((s) => s.audioCount)),
      concurrentJitter: Math.max(...stats.map((s) => s.jitterMs)),
      concurrentMaxInterval: Math.max(...stats.map((s) => s.maxIntervalMs)),
      concurrentFirst: all.map((r) => r.latencyMs),
    };
  } finally {
    for (const bot of bots) {
      await bot.adapter.stop();
      await bot.discord.close();
    }
    await fixture.close();
  }
}

function figuresOf(label: string, m: Measured, latencyTarget?: string): BenchFigure[] {
  return [
    { metric: `[${label}] preview voice from the sample`, value: m.prepareSeconds, unit: 's' },
    {
      metric: `[${label}] /speak → first Opus packet, warm (median of 5)`,
      value: median(m.warm),
      unit: 'ms',
      ...(latencyTarget ? { target: latencyTarget } : {}),
    },
    { metric: `[${label}] /speak → first Opus packet, warm (worst of 5)`, value: Math.max(...m.warm), unit: 'ms' },
    { metric: `[${label}] /speak → first Opus packet, cold (joins the channel)`, value: m.cold, unit: 'ms' },
    { metric: `[${label}] packet interval jitter, one guild (worst std dev)`, value: m.jitter, unit: 'ms' },
    { metric: `[${label}] packet interval max, one guild`, value: m.maxInterval, unit: 'ms' },
    { metric: `[${label}] silence frames mid-utterance, one guild (5 utterances)`, value: m.midSilence, unit: 'frames', target: '0' },
    { metric: `[${label}] packet gaps > 60 ms mid-utterance, one guild (5 utterances)`, value: m.stalls, unit: 'gaps', target: '0' },
    { metric: `[${label}] ${GUILDS} guilds at once: packet gaps > 60 ms mid-utterance (all guilds)`, value: m.concurrentStalls, unit: 'gaps', target: '0' },
    { metric: `[${label}] ${GUILDS} guilds at once: buffer underruns (all guilds)`, value: m.underruns, unit: 'underruns', target: '0' },
    { metric: `[${label}] ${GUILDS} guilds at once: silence frames mid-utterance`, value: m.concurrentMidSilence, unit: 'frames', target: '0' },
    { metric: `[${label}] ${GUILDS} guilds at once: audio frames per guild (min)`, value: m.minAudioFrames, unit: 'frames' },
    { metric: `[${label}] ${GUILDS} guilds at once: jitter (worst guild)`, value: m.concurrentJitter, unit: 'ms' },
    { metric: `[${label}] ${GUILDS} guilds at once: packet interval max`, value: m.concurrentMaxInterval, unit: 'ms' },
    { metric: `[${label}] ${GUILDS} guilds at once: first packet (median)`, value: median(m.concurrentFirst), unit: 'ms' },
    { metric: `[${label}] ${GUILDS} guilds at once: first packet (worst)`, value: Math.max(...m.concurrentFirst), unit: 'ms' },
  ];
}

/**
 * `npm run bench -- discord [--tone-only]`. The classic backend is the real case; the tone
 * backend (synthesis costs nothing) isolates what the adapter and the voice path cost.
 */
const suite: BenchSuite = {
  name: 'discord',
  async run({ args }) {
    const figures = figuresOf('tone backend', await measure(createToneBackend({ targetSpeechSeconds: 8 })));
    if (!args.includes('--tone-only')) figures.push(...figuresOf('classic backend', await measure(createClassicBackend()), '<= 300 ms'));
    return figures;
  },
};

export default suite;
