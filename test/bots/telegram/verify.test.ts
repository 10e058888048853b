import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEFAULT_USER } from '../../fakes/telegram/index.ts';
import { createFliteBackend } from '../../support/flite-backend.ts';
import { readShared } from '../../support/speech-data.ts';
import { sentTexts, speakerNotes, startHarness, waitForText, type TelegramHarness } from './harness.ts';

/**
 * Replying /verify to a voice note: the bot's own /speak note is named as a synthetic
 * voice of its owner (and, after revocation, of a deleted voice); a person's recording
 * gets "no Vocalis mark found", never "authentic".
 */
describe('Telegram /verify', () => {
  let h: TelegramHarness;
  const alice = DEFAULT_USER;
  const identity = { platform: 'telegram', platformUserId: String(alice.id) };
  const chat = alice.id;

  beforeAll(async () => {
    h = await startHarness({ queue: false, backends: [createFliteBackend()], config: { sendQueue: { perChatIntervalMs: 0 } } });
    const { vocalis } = h.rt.runtime;
    const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'telegram', contextId: String(chat) } });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    await vocalis.addClip({ identity, audio: readShared('allison-prompts/demo-congrats.wav'), cloneWhenComplete: false });
  });

  afterAll(async () => {
    await h.close();
  });

  it('names the owner of a voice note the bot made, then only the day once the voice is deleted', async () => {
    const { fake } = h;
    fake.pushUpdate(
      fake.updates.command(
        'speak',
        'Hello everyone. This is my synthetic voice, reading a few sentences for the test. The weather is fine today, and the river is calm. See you all tomorrow evening.',
      ),
    );
    await fake.waitForCall('sendVoice', undefined, 60_000);
    const note = fake.sentVoices(chat).at(-1)!;
    fake.pushUpdate(fake.updates.command('verify', '', { replyTo: note.message }));
    const answer = await waitForText(fake, chat, /Synthetic voice made by this Vocalis deployment/, 30_000);
    assert.match(
      String(answer.params.text),
      new RegExp(`the voice of ${alice.username ? `@${alice.username}` : alice.first_name}, created on \\d{4}-\\d{2}-\\d{2}`),
    );
    assert.doesNotMatch(String(answer.params.text), /authentic/i);

    await h.rt.runtime.vocalis.revoke({ target: identity, actor: { kind: 'operator' } });
    fake.pushUpdate(fake.updates.command('verify', '', { replyTo: note.message }));
    await waitForText(fake, chat, /a voice that has since been deleted, created on \d{4}-\d{2}-\d{2}/, 30_000);
  });

  it("finds no mark in a person's recording, and asks for a voice note when /verify replies to nothing", async () => {
    const { fake } = h;
    const [human] = await speakerNotes('1998', 1);
    const recording = fake.updates.voice({ bytes: Buffer.from(human!) });
    fake.pushUpdate(fake.updates.command('verify', '', { replyTo: recording.message }));
    const answer = await waitForText(fake, chat, /No Vocalis mark found/, 30_000);
    assert.match(String(answer.params.text), /says nothing about whether the recording is genuine/);
    fake.pushUpdate(fake.updates.command('verify'));
    await waitForText(fake, chat, /Reply \/verify to a voice message/);
    assert.ok(sentTexts(fake, chat).every((text) => !/authentic/i.test(text)));
  });
});
