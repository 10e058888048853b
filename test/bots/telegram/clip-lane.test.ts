import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { Message, User } from 'telegraf/types';
import { groupChat, makeUser, privateChat, type RecordedCall } from '../../fakes/telegram/index.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { joinedNotes, speakerNotes, startHarness, waitForText } from './harness.ts';

/**
 * A chat's updates are handled one at a time, in order; clip processing (decode, VAD,
 * verdict, preview) must not run inside that lane, or in a group every member's /speak
 * waits behind every other member's voice notes.
 */
const LIFTED = { perChatIntervalMs: 0, groupPerMinute: 100_000, globalPerSecond: 100_000 };

function repliesTo(call: RecordedCall, messageId: number): boolean {
  return JSON.stringify(call.params.reply_parameters ?? '').includes(`"message_id":${messageId}`);
}

describe('Telegram: clip processing outside the chat lane', () => {
  it("a member's /speak in a group is answered before other members' voice notes are processed, which keep their order per member", async () => {
    const h = await startHarness({ queue: false, config: { sendQueue: LIFTED }, backends: [createToneBackend({ targetSpeechSeconds: 10 })] });
    try {
      const { fake, rt } = h;
      const vocalis = rt.runtime.vocalis;
      const group = groupChat(-1_001_777_000_000, 'Readers');
      const context = { platform: 'telegram', contextId: String(group.id) };
      const grant = (user: User): void => {
        const identity = { platform: 'telegram', platformUserId: String(user.id) };
        const offer = vocalis.offerConsent({ identity, language: 'en', context });
        vocalis.acceptConsent({ identity, consentId: offer.consent.id });
      };

      // Alice already has a voice in this group.
      const alice = makeUser(8101, { username: 'alice8101' });
      grant(alice);
      for (const note of await speakerNotes('3331', 6)) {
        const outcome = await vocalis.addClip({ identity: { platform: 'telegram', platformUserId: String(alice.id) }, audio: note, cloneWhenComplete: false });
        if (outcome.kind === 'stored' && outcome.complete) break;
      }
      assert.ok(vocalis.status({ platform: 'telegram', platformUserId: String(alice.id) }).voice?.currentVersion, 'alice has a voice');

      // Three members are reading their samples: two long voice notes each, as replies to the bot.
      const script = { message_id: 1, date: Math.floor(Date.now() / 1000), chat: group, from: fake.bot, text: 'script' } as Message.TextMessage;
      const readers = [makeUser(8201), makeUser(8202), makeUser(8203)];
      for (const reader of readers) grant(reader);
      const notes = await joinedNotes('2033', 2);
      const sent: Array<{ reader: User; messageId: number }> = [];
      for (const note of notes) {
        for (const reader of readers) {
          const update = fake.pushUpdate(fake.updates.voice({ bytes: note, from: reader, chat: group, replyTo: script }));
          sent.push({ reader, messageId: update.message.message_id });
        }
      }
      const speak = fake.pushUpdate(fake.updates.command('speak', 'one two three', { from: alice, chat: group }));

      const voice = await fake.waitForCall('sendVoice', (c) => c.params.chat_id === group.id, 60_000);
      const replies = await Promise.all(
        sent.map((s) => fake.waitForCall('sendMessage', (c) => c.params.chat_id === group.id && repliesTo(c, s.messageId), 60_000)),
      );
      assert.ok(JSON.stringify(voice.params.reply_parameters).includes(String(speak.message.message_id)));
      const lastClip = Math.max(...replies.map((r) => r.at));
      assert.ok(voice.at < lastClip, `/speak answered ${lastClip - voice.at} ms before the last clip reply (it must not wait for clip processing)`);
      for (const reader of readers) {
        const own = sent.map((s, i) => ({ ...s, reply: replies[i]! })).filter((s) => s.reader.id === reader.id);
        assert.ok(
          own.every((s, i) => i === 0 || s.reply.at >= own[i - 1]!.reply.at),
          "one member's clips are answered in order",
        );
        const nets = own.map((s) => Number(/Recorded (\d+)/.exec(String(s.reply.params.text))?.[1] ?? Number.NaN));
        assert.ok(
          nets.every((n, i) => Number.isFinite(n) && (i === 0 || n > nets[i - 1]!)),
          `progress grows per member: ${nets.join(', ')}`,
        );
      }
    } finally {
      await h.close();
    }
  });

  it('a voice note after the sample is complete is answered at once, without storing or re-judging anything', async () => {
    const h = await startHarness({ worker: false, config: { sendQueue: LIFTED }, backends: [createToneBackend({ targetSpeechSeconds: 10 })] });
    try {
      const { fake, rt } = h;
      const vocalis = rt.runtime.vocalis;
      const erin = makeUser(8301, { username: 'erin8301' });
      const identity = { platform: 'telegram', platformUserId: String(erin.id) };
      const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'telegram', contextId: String(privateChat(erin).id) } });
      vocalis.acceptConsent({ identity, consentId: offer.consent.id });
      let queued = false;
      for (const note of await speakerNotes('3331', 6)) {
        const outcome = await vocalis.addClip({ identity, audio: note });
        if (outcome.kind === 'stored' && outcome.clone) {
          queued = true;
          break;
        }
      }
      assert.ok(queued, 'the fine-tune is queued (no worker runs it)');
      const before = vocalis.status(identity).sample;

      const [extra] = await joinedNotes('2033', 1);
      const reply = waitForText(fake, privateChat(erin).id, /already complete/, 10_000);
      fake.pushUpdate(fake.updates.voice({ bytes: extra!, from: erin }));
      const answer = await reply;
      assert.match(String(answer.params.text), /delete your voice/, 'says how to record a new sample');
      const after = vocalis.status(identity).sample;
      assert.deepEqual(after, before, 'nothing was added to the sample');
      assert.equal(vocalis.status(identity).consent?.state, 'sample_collected');
    } finally {
      await h.close();
    }
  });
});
