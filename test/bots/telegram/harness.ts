import { readFile } from 'node:fs/promises';
import type { Message, User } from 'telegraf/types';
import { startTelegramAdapter, type TelegramAdapter, type TelegramAdapterConfig } from '../../../src/bots/telegram/telegram-adapter.ts';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import type { VoiceBackend } from '../../../src/engine/backend.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { startFakeTelegram, type FakeTelegram, type FakeTelegramOptions, type RecordedCall } from '../../fakes/telegram/index.ts';
import { startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { createToneBackend } from '../../support/tone-backend.ts';

/** A real runtime + the fake Bot API + the adapter on real telegraf, long polling. */
export interface TelegramHarness {
  readonly fake: FakeTelegram;
  readonly rt: RuntimeFixture;
  readonly adapter: TelegramAdapter;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    backends?: readonly VoiceBackend[];
    config?: Partial<TelegramAdapterConfig>;
    fake?: FakeTelegramOptions;
    queue?: boolean;
    /** With the queue but no worker, fine-tunes stay queued (default: a worker runs them). */
    worker?: boolean;
  } = {},
): Promise<TelegramHarness> {
  const rt = await startRuntime({
    backends: options.backends ?? [createToneBackend({ targetSpeechSeconds: 10 })],
    needs: options.queue === false ? { queue: false } : { queue: true, worker: options.worker ?? true },
  });
  const fake = await startFakeTelegram(options.fake);
  let adapter: TelegramAdapter;
  try {
    adapter = await startTelegramAdapter({
      config: { token: fake.token, webhookUrl: undefined, operatorIds: [], jobWatchMs: 100, ...options.config },
      vocalis: rt.runtime.vocalis,
      logger: createLogger({ level: 'silent' }),
      apiRoot: fake.apiRoot,
    });
  } catch (error) {
    await fake.close();
    await rt.close();
    throw error;
  }
  return {
    fake,
    rt,
    adapter,
    async close() {
      await adapter.stop();
      await fake.close();
      await rt.close();
    },
  };
}

/** Decodes a shared FLAC utterance and re-encodes it as a Telegram voice note would arrive (Ogg Opus). */
export async function voiceNote(file: string): Promise<Uint8Array> {
  const pcm = await decodeAudio(new Uint8Array(await readFile(file)), { sampleRate: 48_000 });
  return encodeOggOpus({ samples: pcm.samples, sampleRate: pcm.sampleRate });
}

const noteCache = new Map<string, Promise<Uint8Array[]>>();

/** A speaker's utterances as voice notes, cached across tests of one file. */
export function speakerNotes(speaker: string, count: number): Promise<Uint8Array[]> {
  const key = `${speaker}:${count}`;
  let notes = noteCache.get(key);
  if (!notes) {
    notes = Promise.all(speakerFiles(speaker).slice(0, count).map(voiceNote));
    noteCache.set(key, notes);
  }
  return notes;
}

/** A speaker's utterances joined into `count` longer voice notes (fewer, longer messages: a faster sample). */
export async function joinedNotes(speaker: string, count: number): Promise<Uint8Array[]> {
  const files = speakerFiles(speaker);
  const clips = await Promise.all(files.map(async (file) => (await decodeAudio(new Uint8Array(await readFile(file)), { sampleRate: 48_000 })).samples));
  const perNote = Math.ceil(clips.length / count);
  const notes: Uint8Array[] = [];
  for (let i = 0; i < clips.length; i += perNote) {
    const part = clips.slice(i, i + perNote);
    const joined = new Float32Array(part.reduce((sum, c) => sum + c.length, 0));
    let at = 0;
    for (const clip of part) {
      joined.set(clip, at);
      at += clip.length;
    }
    notes.push(await encodeOggOpus({ samples: joined, sampleRate: 48_000 }));
  }
  return notes;
}

/**
 * The next sendMessage to `chatId` whose text matches, counting only calls made from
 * now on (so an older identical reply cannot satisfy it). Call it right after pushing.
 */
export function waitForText(fake: FakeTelegram, chatId: number, pattern: RegExp, timeoutMs = 10_000): Promise<RecordedCall> {
  const seen = new Set(fake.calls('sendMessage').filter((c) => c.response !== undefined));
  return fake.waitForCall('sendMessage', (c) => !seen.has(c) && c.params.chat_id === chatId && pattern.test(String(c.params.text)), timeoutMs);
}

export function sentTexts(fake: FakeTelegram, chatId: number): string[] {
  return fake
    .calls('sendMessage')
    .filter((c) => c.params.chat_id === chatId && c.response?.ok)
    .map((c) => String(c.params.text));
}

export function resultMessage(call: RecordedCall): Message {
  if (call.response?.ok !== true) throw new Error(`${call.method} failed: ${JSON.stringify(call.response)}`);
  return call.response.result as Message;
}

/** Presses an inline button of `message` as `from`; resolves with the answerCallbackQuery call. */
export async function press(fake: FakeTelegram, message: Message, data: string, from: User): Promise<RecordedCall> {
  const update = fake.pushUpdate(fake.updates.callbackQuery(data, { from, message }));
  return fake.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === update.callback_query.id);
}

/** Inline button callback data of a bot message. */
export function buttons(message: Message): string[] {
  const markup = 'reply_markup' in message ? message.reply_markup : undefined;
  return markup?.inline_keyboard.flat().flatMap((b) => ('callback_data' in b ? [b.callback_data] : [])) ?? [];
}
