import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEFAULT_USER, groupChat, privateChat } from '../../fakes/telegram/index.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { buttons, press, resultMessage, sentTexts, speakerNotes, startHarness, waitForText, type TelegramHarness } from './harness.ts';

/** Files that must not become part of a sample, and what the person is told. */
describe('Telegram voice intake refusals', () => {
  let h: TelegramHarness;
  const alice = DEFAULT_USER;
  const chat = privateChat(alice).id;
  const identity = { platform: 'telegram', platformUserId: String(alice.id) };

  beforeAll(async () => {
    h = await startHarness({ queue: false, backends: [createToneBackend({ targetSpeechSeconds: 60 })], config: { sendQueue: { perChatIntervalMs: 100 } } });
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('clone'));
    const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.reply_markup !== undefined));
    await press(fake, notice, buttons(notice)[0]!, alice);
    await waitForText(fake, chat, /^Your confirmation phrase/);
  });

  afterAll(async () => {
    await h.close();
  });

  it('refuses a 25 MB voice note without downloading it', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.voice({ bytes: Buffer.from('OggS tiny'), fileSize: 25 * 1024 * 1024 }));
    await waitForText(fake, chat, /at most 20 MB/);
    assert.equal(fake.calls('getFile').length, 0);
  });

  it('refuses a file the Bot API will not hand out (getFile: file is too big)', async () => {
    const { fake } = h;
    // The message does not declare a size; getFile itself refuses.
    const fileId = fake.addFile(Buffer.from('OggS tiny'), { size: 21 * 1024 * 1024 });
    const update = fake.updates.voice({ fileId });
    delete (update.message.voice as { file_size?: number }).file_size;
    fake.pushUpdate(update);
    await waitForText(fake, chat, /at most 20 MB/);
    const call = await fake.waitForCall('getFile');
    assert.equal(call.response?.ok, false);
  });

  it('answers a corrupt Ogg with the audio error and keeps nothing', async () => {
    const { fake } = h;
    const [note] = await speakerNotes('1998', 1);
    const corrupt = Buffer.from(note!);
    for (let i = 2000; i < 2400; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0x5a;
    fake.pushUpdate(fake.updates.voice({ bytes: corrupt }));
    await waitForText(fake, chat, /damaged|incomplete|not supported|not audio/);
    assert.equal(h.rt.runtime.vocalis.status(identity).sample.clips, 0);
  });

  it('explains a refused recording with the verdict (silence: nothing was picked up)', async () => {
    const { fake } = h;
    const { encodeOggOpus } = await import('../../../src/engine/audio/opus-frames.ts');
    const silence = await encodeOggOpus({ samples: new Float32Array(48_000 * 3), sampleRate: 48_000 });
    fake.pushUpdate(fake.updates.voice({ bytes: silence }));
    await waitForText(fake, chat, /^I did not keep this recording\.\n[\s\S]*no sound was picked up[\s\S]*microphone/);
    assert.equal(h.rt.runtime.vocalis.status(identity).sample.clips, 0);
  });

  it('accepts an audio file as well as a voice note', async () => {
    const { fake } = h;
    const [note] = await speakerNotes('1998', 1);
    fake.pushUpdate(fake.updates.audio({ bytes: note!, mimeType: 'audio/ogg', fileName: 'reading.ogg' }));
    await waitForText(fake, chat, /^Recorded \d+ of 60 s/).catch((error: unknown) => {
      throw new Error(`${String(error)}; sent: ${JSON.stringify(sentTexts(fake, chat).slice(-2))}`);
    });
    assert.equal(h.rt.runtime.vocalis.status(identity).sample.clips, 1);
  });

  it('in a group, ignores voice notes that do not reply to the bot (privacy mode)', async () => {
    const { fake } = h;
    const group = groupChat();
    const downloads = fake.calls('getFile').length;
    const [note] = await speakerNotes('1998', 1);
    fake.pushUpdate(fake.updates.voice({ bytes: note!, chat: group }));
    const marker = fake.pushUpdate(fake.updates.command('help', '', { chat: group }));
    await fake.waitForCall('sendMessage', (c) => c.params.chat_id === group.id);
    assert.ok(marker);
    assert.equal(fake.calls('sendMessage').filter((c) => c.params.chat_id === group.id).length, 1, 'only /help was answered');
    assert.equal(fake.calls('getFile').length, downloads, 'the unaddressed note was not downloaded');
  });

  it('rate-limits /speak per user and chat, saying when to try again', async () => {
    const { fake } = h;
    for (let i = 0; i < 3; i++) {
      fake.pushUpdate(fake.updates.command('speak', `attempt ${i}`));
      await waitForText(fake, chat, /^That is not possible yet: the voice sample is not complete/);
    }
    fake.pushUpdate(fake.updates.command('speak', 'one too many'));
    await waitForText(fake, chat, /^Slow down a little: try again in \d+ s\.$/);
  });
});
