import { readFile } from 'node:fs/promises';
import { startTelegramAdapter, type TelegramAdapter } from '../src/bots/telegram/telegram-adapter.ts';
import { encodeOggOpus } from '../src/engine/audio/opus-frames.ts';
import { createClassicBackend } from '../src/engine/backends/classic/index.ts';
import { createLogger } from '../src/observability/logger.ts';
import { makeUser, privateChat, startFakeTelegram, type FakeTelegram } from '../test/fakes/telegram/index.ts';
import { startRuntime, type RuntimeFixture } from '../test/support/runtime-fixture.ts';
import { speakerFiles } from '../test/support/speech-data.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * The Telegram adapter over real HTTP (real telegraf → the fake Bot API on localhost)
 * with a real runtime and the classic CPU backend:
 *  - /speak latency: from pushing the update to the sendVoice request reaching the API,
 *    for a 12-word sentence (long-poll pickup, gate, synthesis, Ogg Opus, upload);
 *  - throughput: /start updates handled per second with the outgoing limits lifted,
 *    so the figure is the bot's, not Telegram's 30 messages/s.
 */
const SENTENCE = 'Please bring the blue book and four red apples to the kitchen table'; // 12 words
const RUNS = 7;

const suite: BenchSuite = {
  name: 'telegram',
  async run() {
    const rt = await startRuntime({ backends: [createClassicBackend()], needs: { queue: false } });
    const fake = await startFakeTelegram();
    let adapter: TelegramAdapter | undefined;
    try {
      adapter = await startTelegramAdapter({
        config: {
          token: fake.token, webhookUrl: undefined, operatorIds: [],
          speakLimit: { capacity: 1000, perMinute: 100_000 },
          sendQueue: { perChatIntervalMs: 0, globalPerSecond: 100_000, groupPerMinute: 100_000 },
        },
        vocalis: rt.runtime.vocalis,
        logger: createLogger({ level: 'silent' }),
        apiRoot: fake.apiRoot,
      });
      const { latencies, core } = await speakLatencies(fake, rt);
      const perSecond = await updatesPerSecond(fake, 600);
      const sorted = [...latencies].sort((a, b) => a - b);
      const figures: BenchFigure[] = [
        { metric: '/speak (12 words, classic) update → sendVoice request, median', value: median(latencies) / 1000, unit: 's', target: '<= 0.5 s' },
        { metric: '/speak update → sendVoice request, worst of 7', value: (sorted.at(-1) ?? Number.NaN) / 1000, unit: 's' },
        { metric: '  of which core synthesis + Ogg Opus encode (same sentence, no Telegram), median', value: median(core) / 1000, unit: 's' },
        { metric: '/start updates handled per second (send limits lifted)', value: perSecond, unit: 'updates/s' },
      ];
      return figures;
    } finally {
      await adapter?.stop();
      await fake.close();
      await rt.close();
    }
  },
};

/**
 * Prepares a classic preview voice through the core, then times /speak over Telegram,
 * each run next to the same sentence through the core alone (the machine's load varies,
 * so the two are taken side by side to tell the adapter's share from synthesis).
 */
async function speakLatencies(fake: FakeTelegram, rt: RuntimeFixture): Promise<{ latencies: number[]; core: number[] }> {
  const user = makeUser(4242, { username: 'bench' });
  const identity = { platform: 'telegram', platformUserId: String(user.id) };
  const { vocalis } = rt.runtime;
  const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'telegram', contextId: String(privateChat(user).id) } });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  for (const file of speakerFiles('3331')) {
    const outcome = await vocalis.addClip({ identity, audio: new Uint8Array(await readFile(file)), cloneWhenComplete: false });
    if (outcome.kind === 'stored' && outcome.complete) break;
  }
  const latencies: number[] = [];
  const core: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const coreTime = await coreSpeakTime(rt, identity);
    const started = Date.now();
    const update = fake.pushUpdate(fake.updates.command('speak', SENTENCE, { from: user }));
    const call = await fake.waitForRequest('sendVoice', (c) => c.params.reply_parameters !== undefined
      && JSON.stringify(c.params.reply_parameters).includes(String(update.message.message_id)), 30_000);
    // Run 0 warms the voice cache and the Opus encoder.
    if (run > 0) {
      latencies.push(call.at - started);
      core.push(coreTime);
    }
  }
  return { latencies, core };
}

async function coreSpeakTime(rt: RuntimeFixture, identity: { platform: string; platformUserId: string }): Promise<number> {
  const started = performance.now();
  const speech = rt.runtime.vocalis.speak({ requester: identity, context: { platform: 'telegram', contextId: identity.platformUserId }, text: SENTENCE });
  await encodeOggOpus(speech.audio);
  return performance.now() - started;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function updatesPerSecond(fake: FakeTelegram, count: number): Promise<number> {
  const before = fake.calls('sendMessage').length;
  const started = performance.now();
  for (let i = 0; i < count; i++) fake.pushUpdate(fake.updates.command('start', '', { from: makeUser(60_000 + i) }));
  while (fake.calls('sendMessage').filter((c) => c.response !== undefined).length - before < count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return count / ((performance.now() - started) / 1000);
}

export default suite;
