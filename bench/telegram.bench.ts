import { readFile } from 'node:fs/promises';
import { startTelegramAdapter, type TelegramAdapter } from '../src/bots/telegram/telegram-adapter.ts';
import { encodeOggOpus } from '../src/engine/audio/opus-frames.ts';
import { createClassicBackend } from '../src/engine/backends/classic/index.ts';
import { createLogger } from '../src/observability/logger.ts';
import type { Message, User } from 'telegraf/types';
import type { PlatformIdentity } from '../src/consent/consent-gate.ts';
import { decodeAudio } from '../src/engine/audio/decode.ts';
import { groupChat, makeUser, privateChat, startFakeTelegram, type FakeTelegram, type RecordedCall } from '../test/fakes/telegram/index.ts';
import { startRuntime, type RuntimeFixture } from '../test/support/runtime-fixture.ts';
import { speakerFiles } from '../test/support/speech-data.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * The Telegram adapter over real HTTP (real telegraf → the fake Bot API on localhost)
 * with a real runtime and the classic CPU backend:
 *  - /speak latency: from pushing the update to the sendVoice request reaching the API,
 *    for a 12-word sentence (long-poll pickup, gate, synthesis, Ogg Opus, upload);
 *  - throughput: /start updates handled per second with the outgoing limits lifted,
 *    so the figure is the bot's, not Telegram's 30 messages/s;
 *  - /speak in a busy group: a member's /speak → sendVoice while 10 other members of the
 *    same group keep sending voice notes for their samples (each sends the next one when
 *    the bot answered the last), the same chat lane as the /speak.
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
          token: fake.token,
          webhookUrl: undefined,
          operatorIds: [],
          speakLimit: { capacity: 1000, perMinute: 100_000 },
          sendQueue: { perChatIntervalMs: 0, globalPerSecond: 100_000, groupPerMinute: 100_000 },
        },
        vocalis: rt.runtime.vocalis,
        logger: createLogger({ level: 'silent' }),
        apiRoot: fake.apiRoot,
      });
      const { latencies, core } = await speakLatencies(fake, rt);
      const perSecond = await updatesPerSecond(fake, 600);
      const busy = await busyGroupSpeak(fake, rt);
      const sorted = [...latencies].sort((a, b) => a - b);
      const figures: BenchFigure[] = [
        { metric: '/speak (12 words, classic) update → sendVoice request, median', value: median(latencies) / 1000, unit: 's', target: '<= 0.5 s' },
        { metric: '/speak update → sendVoice request, worst of 7', value: (sorted.at(-1) ?? Number.NaN) / 1000, unit: 's' },
        { metric: '  of which core synthesis + Ogg Opus encode (same sentence, no Telegram), median', value: median(core) / 1000, unit: 's' },
        { metric: '/start updates handled per second (send limits lifted)', value: perSecond, unit: 'updates/s' },
        {
          metric: `/speak in a group, 10 members sending voice notes: update → sendVoice, median of ${busy.latencies.length}`,
          value: percentile(busy.latencies, 0.5) / 1000,
          unit: 's',
        },
        { metric: '  same, 95th percentile', value: percentile(busy.latencies, 0.95) / 1000, unit: 's', target: '<= 1 s' },
        { metric: '  voice notes answered meanwhile', value: busy.clips, unit: 'clips' },
        { metric: '  voice note → its answer (download, decode, VAD, verdict), median', value: percentile(busy.clipLatencies, 0.5) / 1000, unit: 's' },
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
    const call = await fake.waitForRequest(
      'sendVoice',
      (c) => c.params.reply_parameters !== undefined && JSON.stringify(c.params.reply_parameters).includes(String(update.message.message_id)),
      30_000,
    );
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

const GROUP_SPEAKS = 20;
const GROUP_READERS = 10;

/**
 * A group where one member has a voice and 10 others are reading their samples: each
 * reader sends a voice note (a few LibriSpeech utterances, ~10–15 s of speech), waits for
 * the bot's answer, and sends the next. Meanwhile the member sends /speak 20 times, one
 * after another; each is timed from pushing the update to the sendVoice request.
 */
async function busyGroupSpeak(fake: FakeTelegram, rt: RuntimeFixture): Promise<{ latencies: number[]; clips: number; clipLatencies: number[] }> {
  const { vocalis } = rt.runtime;
  const group = groupChat(-1_001_424_200_000, 'Bench readers');
  const context = { platform: 'telegram', contextId: String(group.id) };
  const grant = (user: User): PlatformIdentity => {
    const identity = { platform: 'telegram', platformUserId: String(user.id) };
    const offer = vocalis.offerConsent({ identity, language: 'en', context });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    return identity;
  };
  const speaker = makeUser(4343, { username: 'groupbench' });
  const speakerIdentity = grant(speaker);
  for (const file of speakerFiles('3331')) {
    const outcome = await vocalis.addClip({ identity: speakerIdentity, audio: new Uint8Array(await readFile(file)), cloneWhenComplete: false });
    if (outcome.kind === 'stored' && outcome.complete) break;
  }
  const notes = await readerNotes(['2033', '3005', '1998'], 6);
  const script = { message_id: 1, date: Math.floor(Date.now() / 1000), chat: group, from: fake.bot, text: 'script' } as Message.TextMessage;
  const readers = Array.from({ length: GROUP_READERS }, (_, i) => makeUser(70_000 + i));
  for (const reader of readers) grant(reader);

  let reading = true;
  let clips = 0;
  const clipLatencies: number[] = [];
  const read = async (reader: User, offset: number): Promise<void> => {
    for (let n = offset; reading; n++) {
      const sentAt = Date.now();
      const update = fake.pushUpdate(fake.updates.voice({ bytes: notes[n % notes.length]!, from: reader, chat: group, replyTo: script }));
      await fake.waitForRequest('sendMessage', (c) => c.params.chat_id === group.id && repliesTo(c, update.message.message_id), 120_000);
      clipLatencies.push(Date.now() - sentAt);
      clips++;
    }
  };
  const readersDone = Promise.all(readers.map((reader, i) => read(reader, i)));
  // Let the readers fill the clip queue first.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const latencies: number[] = [];
  try {
    for (let run = 0; run < GROUP_SPEAKS; run++) {
      const started = Date.now();
      const update = fake.pushUpdate(fake.updates.command('speak', SENTENCE, { from: speaker, chat: group }));
      const call = await fake.waitForRequest('sendVoice', (c) => c.params.chat_id === group.id && repliesTo(c, update.message.message_id), 60_000);
      latencies.push(call.at - started);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    reading = false;
    await readersDone;
  }
  return { latencies, clips, clipLatencies };
}

/** Voice notes of a few utterances each (Ogg Opus, as Telegram delivers them). */
async function readerNotes(speakers: readonly string[], perSpeaker: number): Promise<Uint8Array[]> {
  const notes: Uint8Array[] = [];
  for (const id of speakers) {
    const files = speakerFiles(id);
    for (let i = 0; i < perSpeaker; i++) {
      const parts = await Promise.all(
        files.slice(i * 2, i * 2 + 2).map(async (f) => (await decodeAudio(new Uint8Array(await readFile(f)), { sampleRate: 48_000 })).samples),
      );
      const joined = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
      let at = 0;
      for (const part of parts) {
        joined.set(part, at);
        at += part.length;
      }
      notes.push(await encodeOggOpus({ samples: joined, sampleRate: 48_000 }));
    }
  }
  return notes;
}

function repliesTo(call: RecordedCall, messageId: number): boolean {
  return JSON.stringify(call.params.reply_parameters ?? '').includes(`"message_id":${messageId}`);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
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
