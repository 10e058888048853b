import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEFAULT_USER, privateChat } from '../../fakes/telegram/index.ts';
import { stallingAfterFirstChunk } from '../../support/stalling-backend.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { buttons, press, resultMessage, speakerNotes, startHarness, waitForText, type TelegramHarness } from './harness.ts';

/**
 * A person who regrets a /speak while it is still being synthesised sends /delete in the same
 * chat. The chat's updates are handled one at a time, but the revocation must not wait behind
 * the /speak it is meant to stop: it is answered at once and no voice note goes out.
 */
describe('Telegram /delete while a /speak of the same chat is synthesising', () => {
  let h: TelegramHarness;
  const alice = DEFAULT_USER;
  const chat = privateChat(alice).id;
  let stalled: () => void = () => {};
  const stalling = new Promise<void>((resolve) => {
    stalled = resolve;
  });

  beforeAll(async () => {
    // After its first word the synthesis stalls for 30 s (honouring the abort), as a slow model does.
    h = await startHarness({
      worker: false,
      backends: [stallingAfterFirstChunk(createToneBackend({ targetSpeechSeconds: 10 }), 30_000, () => stalled())],
      config: { sendQueue: { perChatIntervalMs: 100 } },
    });
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('clone'));
    const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.reply_markup !== undefined));
    await press(fake, notice, buttons(notice)[0]!, alice);
    await waitForText(fake, chat, /^Your confirmation phrase/);
    // The chat's lane takes them one at a time; a few notes of LibriSpeech 3331 make 10 s of speech.
    for (const note of await speakerNotes('3331', 4)) fake.pushUpdate(fake.updates.voice({ bytes: note }));
    await waitForText(fake, chat, /Your sample is complete/, 40_000);
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  it('answers /delete at once, stops the synthesis and sends no voice note', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('speak', 'one two three four five six'));
    await stalling;
    const sent = performance.now();
    const revoked = waitForText(fake, chat, /^Consent revoked\. Deleted: \d voice\(s\)/, 5_000);
    // The stopped /speak tells the person why instead of sending half a note.
    const told = waitForText(fake, chat, /^There is no active consent for this voice/, 5_000);
    fake.pushUpdate(fake.updates.command('delete'));
    await revoked;
    const answeredMs = performance.now() - sent;
    await told;
    assert.ok(answeredMs < 3_000, `the revocation was answered after ${Math.round(answeredMs)} ms`);
    assert.equal(fake.sentVoices(chat).length, 0, 'no voice note of the stopped /speak');
  });
});
