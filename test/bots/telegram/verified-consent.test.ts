import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { User } from 'telegraf/types';
import { readingScript } from '../../../src/consent/reading-script.ts';
import { startTelegramAdapter, type TelegramAdapter } from '../../../src/bots/telegram/telegram-adapter.ts';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { DEFAULT_USER, makeUser, privateChat, startFakeTelegram, type FakeTelegram } from '../../fakes/telegram/index.ts';
import { startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { fliteWav, type FliteVoice } from '../../support/spoken-audio.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { buttons, press, resultMessage, waitForText } from './harness.ts';

/**
 * Telegram /clone with consent verification on (`required`): the first voice note must be
 * the consent statement read with the live phrase (a flite voice reads it, then the
 * script); another voice's note is refused with the non-accusing message, in English and,
 * for a Chinese user whose statement is checked acoustically, in Chinese.
 */
describe('Telegram clone with verified consent', () => {
  let fake: FakeTelegram;
  let rt: RuntimeFixture;
  let adapter: TelegramAdapter;

  beforeAll(async () => {
    rt = await startRuntime({ backends: [createToneBackend({ targetSpeechSeconds: 25 })], env: { VOCALIS_CONSENT_VERIFICATION: 'required' } });
    fake = await startFakeTelegram();
    adapter = await startTelegramAdapter({
      config: { token: fake.token, webhookUrl: undefined, operatorIds: [], jobWatchMs: 100, sendQueue: { perChatIntervalMs: 50 } },
      vocalis: rt.runtime.vocalis,
      logger: createLogger({ level: 'silent' }),
      apiRoot: fake.apiRoot,
    });
  });

  afterAll(async () => {
    await adapter.stop();
    await fake.close();
    await rt.close();
  });

  async function agree(user: User): Promise<string> {
    const chat = privateChat(user);
    fake.pushUpdate(fake.updates.command('clone', '', { from: user, chat }));
    const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.chat_id === chat.id && c.params.reply_markup !== undefined));
    await press(fake, notice, buttons(notice)[0]!, user);
    await waitForText(fake, chat.id, /^Your confirmation phrase: |^你的确认短语/);
    return rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(user.id) }).consent!.challenge;
  }

  async function note(wav: Uint8Array): Promise<Uint8Array> {
    const pcm = await decodeAudio(wav, { sampleRate: 48_000 });
    return encodeOggOpus({ samples: pcm.samples, sampleRate: 48_000 });
  }

  async function send(user: User, voice: FliteVoice | 'espeak-cmn', text: string, expect: RegExp): Promise<string> {
    const chat = privateChat(user);
    const wav = voice === 'espeak-cmn' ? new Uint8Array(execFileSync('espeak-ng', ['-v', 'cmn', '--stdout', text])) : fliteWav(voice, text);
    const reply = waitForText(fake, chat.id, expect, 30_000);
    fake.pushUpdate(fake.updates.voice({ bytes: await note(wav), from: user, chat }));
    return String((await reply).params.text);
  }

  it('English: the statement with the live phrase first, then the script in the same voice; another voice is refused and not kept', async () => {
    const alice = DEFAULT_USER;
    const identity = { platform: 'telegram', platformUserId: String(alice.id) };
    const challenge = await agree(alice);
    const script = readingScript('en', challenge).sentences;

    const early = await send(alice, 'slt', script.slice(1, 4).join(' '), /statement was not heard/);
    assert.match(early, /Not heard: .*\b(amber|[a-z]+)\b/, 'the words not heard are named');
    assert.equal(rt.runtime.vocalis.status(identity).sample.clips, 0);

    await send(alice, 'slt', script[0]!, /^Recorded \d+ of 25 s/);
    const refused = await send(alice, 'awb', script.slice(4, 8).join(' '), /does not sound like the person who read the consent statement/);
    assert.match(refused, /\(1 of 3\)/);
    assert.equal(rt.runtime.vocalis.status(identity).sample.clips, 1, 'the other voice was not kept');

    await send(alice, 'slt', script.slice(1, 13).join(' '), /Your sample is complete/);
    const verification = rt.runtime.vocalis.status(identity).verification;
    assert.ok(verification?.status === 'verified', 'the reading was verified');
    assert.equal(verification.clips.length, 1, 'the script note matched the reader');
    assert.equal(verification.mismatches, 1);
  });

  it('Chinese: the statement checked acoustically (espeak-ng rendering), and the refusal of another voice in Chinese', async () => {
    const mei = makeUser(4242, { language_code: 'zh' });
    const challenge = await agree(mei);
    const consent = rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(mei.id) }).consent!;
    assert.equal(consent.language, 'zh');
    await send(mei, 'espeak-cmn', readingScript('zh', challenge).sentences[0]!, /^已录 \d+ \/ 25 秒/);
    const verification = rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(mei.id) }).verification;
    assert.ok(verification?.status === 'verified' && verification.reading.assurance === 'acoustic', 'Mandarin gets the lower, acoustic assurance level');
    const refused = await send(
      mei,
      'awb',
      'The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.',
      /听起来不像朗读同意声明的人/,
    );
    assert.match(refused, /第 1 次，共 3 次/);
  });
});
