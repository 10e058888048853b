import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Message } from 'telegraf/types';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import { readOggOpus } from '../../../src/engine/audio/ogg-opus-reader.ts';
import { startTelegramAdapter, type TelegramAdapter } from '../../../src/bots/telegram/telegram-adapter.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { DEFAULT_USER, makeUser, privateChat, startFakeTelegram, type FakeTelegram } from '../../fakes/telegram/index.ts';
import { startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { buttons, press, resultMessage, sentTexts, speakerNotes, waitForText } from './harness.ts';

/**
 * The whole Telegram clone flow against the fake Bot API with real telegraf, a real
 * runtime (SQLite, encrypted files, redis, BullMQ worker) and the tone test backend
 * with a 20 s target, so the sample takes several voice messages.
 */
describe('Telegram clone flow', () => {
  let fake: FakeTelegram;
  let rt: RuntimeFixture;
  let adapter: TelegramAdapter;
  const logs: string[] = [];
  const alice = DEFAULT_USER;
  const chat = privateChat(alice).id;
  const SECRET_TEXT = 'purple walrus sings twelve quiet songs beneath the old harbour lights tonight';

  beforeAll(async () => {
    rt = await startRuntime({ backends: [createToneBackend({ targetSpeechSeconds: 20 })] });
    fake = await startFakeTelegram();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    adapter = await startTelegramAdapter({
      // Real limits are the flood test's subject; here a short per-chat spacing keeps the test fast.
      config: { token: fake.token, webhookUrl: undefined, operatorIds: [], jobWatchMs: 100, sendQueue: { perChatIntervalMs: 100 } },
      vocalis: rt.runtime.vocalis,
      logger: createLogger({ level: 'debug', destination: sink }),
      apiRoot: fake.apiRoot,
    });
  });

  afterAll(async () => {
    await adapter.stop();
    await fake.close();
    await rt.close();
  });

  it('registers its command menu in English and Chinese and answers /start and /help', async () => {
    assert.deepEqual(
      fake.commands().map((c) => c.command),
      ['clone', 'speak', 'voice', 'delete', 'revoke', 'verify', 'help'],
    );
    assert.equal(fake.commands({ type: 'default' }, 'zh')[0]?.description, '同意声明，开始克隆你的声音');
    fake.pushUpdate(fake.updates.command('start'));
    await waitForText(fake, chat, /\/clone/);
    fake.pushUpdate(fake.updates.command('help'));
    await waitForText(fake, chat, /privacy mode/);
  });

  it('keeps nothing sent before consent and explains how to start', async () => {
    const [note] = await speakerNotes('3331', 1);
    fake.pushUpdate(fake.updates.voice({ bytes: note! }));
    await waitForText(fake, chat, /did not keep this voice message.*\/clone/s);
    assert.equal(fake.calls('getFile').length, 0, 'nothing was downloaded');
    assert.equal(rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(alice.id) }).sample.clips, 0);
  });

  let notice: Message;
  it('/clone shows the consent notice with Agree and Cancel buttons that only the asker can press', async () => {
    fake.pushUpdate(fake.updates.command('clone'));
    notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.chat_id === chat && c.params.reply_markup !== undefined));
    assert.ok('text' in notice && notice.text.startsWith('Consent to clone your voice'));
    assert.ok('text' in notice && notice.text.includes('/delete on Telegram'), 'the notice is the versioned consent text');
    const data = buttons(notice);
    assert.equal(data.length, 2);
    assert.match(data[0]!, /^c:a:c_[0-9a-f]+$/);
    assert.match(data[1]!, /^c:x:c_[0-9a-f]+$/);
    for (const d of data) assert.ok(Buffer.byteLength(d) <= 64);

    // Voice before pressing Agree is still not kept.
    const [note] = await speakerNotes('3331', 1);
    fake.pushUpdate(fake.updates.voice({ bytes: note! }));
    await waitForText(fake, chat, /press "I agree"/);

    const mallory = makeUser(666, { username: 'mallory' });
    const refused = await press(fake, notice, data[0]!, mallory);
    assert.equal(refused.params.show_alert, true);
    assert.match(String(refused.params.text), /for someone else/);
    assert.equal(rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(alice.id) }).consent?.state, 'offered');
  });

  it('Agree records the consent, keeps the notice with its receipt and sends the challenge and the script', async () => {
    const answer = await press(fake, notice, buttons(notice)[0]!, alice);
    assert.equal(answer.params.text, 'Done.');
    const consent = rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(alice.id) }).consent!;
    assert.equal(consent.state, 'granted');
    assert.equal(consent.scope.context, String(chat), 'the consent is scoped to this chat');
    const edit = await fake.waitForCall('editMessageText', (c) => c.params.message_id === notice.message_id);
    assert.match(String(edit.params.text), new RegExp(`Consent ${consent.id} is recorded`));
    assert.equal(edit.params.reply_markup, undefined, 'the buttons are gone');
    const script = await waitForText(fake, chat, /^Your confirmation phrase: /);
    assert.ok(String(script.params.text).includes(consent.challenge));
    assert.match(String(script.params.text), /1\. I am aware that recordings of my voice/);
    // A pressed stale button still gets an answer.
    const stale = await press(fake, notice, buttons(notice)[1]!, alice);
    assert.equal(stale.params.show_alert, true);
    fake.pushUpdate(fake.updates.command('clone'));
    await waitForText(fake, chat, /^You already have an active consent \(granted\)\.$/);
  });

  it('voice messages build the sample with progress; the fine-tune reports in one edited message', async () => {
    const notes = await speakerNotes('3331', 4);
    const progress: string[] = [];
    for (const note of notes) {
      const before = sentTexts(fake, chat).length;
      fake.pushUpdate(fake.updates.voice({ bytes: note }));
      await waitForText(fake, chat, /^Recorded \d+ of 20 s/);
      await fake.waitForCall('sendMessage', () => sentTexts(fake, chat).length > before);
      progress.push(
        sentTexts(fake, chat)
          .filter((t) => t.startsWith('Recorded'))
          .at(-1)!,
      );
      if (/^Recorded (2\d|[3-9]\d) of/.test(progress.at(-1)!)) break;
    }
    assert.ok(progress.length >= 2, `several messages were needed: ${progress.join(' | ')}`);
    const nets = progress.map((p) => Number(/Recorded (\d+)/.exec(p)![1]));
    assert.ok(
      nets.every((n, i) => i === 0 || n > nets[i - 1]!),
      `progress grows: ${nets.join(', ')}`,
    );
    assert.equal(fake.calls('getFile').length, progress.length);

    const queued = resultMessage(await waitForText(fake, chat, /Your sample is complete/));
    assert.match('text' in queued ? queued.text : '', /preview of your voice/);
    const ready = await fake.waitForCall(
      'editMessageText',
      (c) => c.params.message_id === queued.message_id && /Your voice is ready/.test(String(c.params.text)),
      15_000,
    );
    assert.ok(ready.response?.ok);
    assert.equal(fake.calls('sendMessage').filter((c) => /Your voice is ready/.test(String(c.params.text))).length, 0, 'ready is an edit, not a new message');
  });

  it('/speak answers with an Ogg Opus voice note of the right duration, captioned as an AI voice', async () => {
    const words = SECRET_TEXT.split(' ');
    assert.equal(words.length, 12);
    const command = fake.pushUpdate(fake.updates.command('speak', SECRET_TEXT));
    const call = await fake.waitForCall('sendVoice', (c) => c.params.chat_id === chat);
    const voice = fake.sentVoices(chat).at(-1)!;
    assert.equal(voice.caption, 'AI voice of @alice');
    assert.equal(voice.message.reply_to_message?.message_id, command.message.message_id, 'the note replies to the command');
    const ogg = readOggOpus(new Uint8Array(voice.bytes));
    assert.equal(ogg.channels, 1);
    assert.ok(ogg.sawEndOfStream);
    const pcm = await decodeAudio(new Uint8Array(voice.bytes), { sampleRate: 48_000 });
    const seconds = pcm.samples.length / pcm.sampleRate;
    assert.ok(Math.abs(seconds - 12 * 0.2) < 0.03, `12 words x 0.2 s of tone, got ${seconds} s`);
    assert.equal(call.params.duration, 2);
  });

  it('/voice shows the consent and the voice; /delete revokes and deletes everything', async () => {
    fake.pushUpdate(fake.updates.command('voice'));
    await waitForText(fake, chat, /voice_ready.*\n.*of 20 s of speech in \d recording\(s\)\.\nVoice: ready, version \d/s);
    fake.pushUpdate(fake.updates.command('delete'));
    const revoked = await waitForText(fake, chat, /^Consent revoked\. Deleted: 1 voice\(s\), \d recording\(s\)/);
    assert.ok(revoked);
    assert.equal(rt.runtime.vocalis.status({ platform: 'telegram', platformUserId: String(alice.id) }).consent, null);
    fake.pushUpdate(fake.updates.command('speak', 'hello again'));
    await waitForText(fake, chat, /There is no (active consent|voice)/);
    assert.equal(fake.sentVoices(chat).length, 1);
  });

  it('speaks Chinese to a zh user, from the shared catalogue', async () => {
    const li = makeUser(200_002, { username: 'li', language_code: 'zh-hans' });
    const liChat = privateChat(li).id;
    fake.pushUpdate(fake.updates.command('start', '', { from: li }));
    await waitForText(fake, liChat, /你好/);
    fake.pushUpdate(fake.updates.command('clone', '', { from: li }));
    const zhNotice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.chat_id === liChat && c.params.reply_markup !== undefined));
    assert.ok('text' in zhNotice && zhNotice.text.startsWith('同意克隆你的声音'));
    const markup = 'reply_markup' in zhNotice ? zhNotice.reply_markup : undefined;
    assert.equal(markup?.inline_keyboard[0]?.[0]?.text, '我同意');
    const cancelled = await press(fake, zhNotice, buttons(zhNotice)[1]!, li);
    assert.equal(cancelled.params.text, '完成。');
    await fake.waitForCall('editMessageText', (c) => c.params.message_id === zhNotice.message_id && c.params.text === '已取消，没有录制任何内容。');
  });

  it('answered every callback query and logged no token, text or caption', () => {
    for (const call of fake.calls('answerCallbackQuery')) assert.ok(call.response?.ok, 'each query answered exactly once');
    const all = logs.join('');
    assert.ok(all.length > 0 && all.includes('speech synthesised'));
    assert.ok(!all.includes(fake.token.split(':')[1]!), 'no token');
    assert.ok(!all.includes('walrus'), 'no message text');
    assert.ok(!all.includes('AI voice of'), 'no caption');
  });
});
