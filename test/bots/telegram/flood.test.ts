import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { groupChat, makeUser, privateChat } from '../../fakes/telegram/index.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { speakerNotes, startHarness } from './harness.ts';

/**
 * 50 people use the bot at once while the fake enforces Telegram's real flood limits
 * (1 msg/s per chat, 20/min per group, 30/s overall): every reply arrives, none is
 * answered 429, and per-chat order holds.
 */
describe('Telegram flood limits', () => {
  it('answers 50 concurrent users without a single 429', async () => {
    const h = await startHarness({ queue: false, fake: { enforceFloodLimits: true } });
    try {
      const { fake } = h;
      const users = Array.from({ length: 50 }, (_, i) => makeUser(5000 + i));
      const group = groupChat(-1_001_555_000_000, 'Busy');
      const started = Date.now();
      for (const user of users) {
        fake.pushUpdate(fake.updates.command('start', '', { from: user }));
        fake.pushUpdate(fake.updates.command('clone', '', { from: user }));
        fake.pushUpdate(fake.updates.command('help', '', { from: user }));
      }
      for (const user of users.slice(0, 4)) fake.pushUpdate(fake.updates.command('help', '', { from: user, chat: group }));
      const expected = users.length * 3 + 4;
      const sent = () => fake.calls('sendMessage').filter((c) => c.response?.ok).length;
      const deadline = Date.now() + 20_000;
      while (sent() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const elapsed = Date.now() - started;

      console.log(`flood: ${expected} replies in ${elapsed} ms`);
      assert.equal(sent(), expected, 'every command was answered');
      assert.equal(fake.floodViolations, 0);
      assert.equal(fake.rateLimitedCount, 0);
      for (const user of users) {
        const texts = fake
          .calls('sendMessage')
          .filter((c) => c.params.chat_id === privateChat(user).id)
          .map((c) => String(c.params.text));
        assert.match(texts[0]!, /^Hello!/);
        assert.match(texts[1]!, /^Consent to clone your voice/);
        assert.match(texts[2]!, /^Commands:/);
      }
      // 154 messages at 30/s need at least 5 one-second windows; 4 in the group need 3 s of spacing.
      assert.ok(elapsed >= 4000, `took ${elapsed} ms: faster than the limits allow`);
      assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    } finally {
      await h.close();
    }
  });

  it('a slow request in one chat does not hold up the others', async () => {
    const h = await startHarness({ queue: false, backends: [createToneBackend({ targetSpeechSeconds: 3, wordMs: 250 })] });
    try {
      const { fake, rt } = h;
      const slow = makeUser(7101);
      const identity = { platform: 'telegram', platformUserId: String(slow.id) };
      const offer = rt.runtime.vocalis.offerConsent({ identity, language: 'en', context: { platform: 'telegram', contextId: String(slow.id) } });
      rt.runtime.vocalis.acceptConsent({ identity, consentId: offer.consent.id });
      const [note] = await speakerNotes('3331', 1);
      await rt.runtime.vocalis.addClip({ identity, audio: note!, cloneWhenComplete: false });

      fake.pushUpdate(fake.updates.command('speak', 'one two three four five six seven eight', { from: slow }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const quick = makeUser(7102);
      fake.pushUpdate(fake.updates.command('start', '', { from: quick }));
      const reply = await fake.waitForCall('sendMessage', (c) => c.params.chat_id === quick.id);
      const voice = await fake.waitForCall('sendVoice', (c) => c.params.chat_id === slow.id, 10_000);
      assert.ok(reply.at < voice.at, 'the quick chat was answered while the slow one was still synthesising');
    } finally {
      await h.close();
    }
  });

  it('retries after a 429 with retry_after and still delivers', async () => {
    const h = await startHarness({ queue: false });
    try {
      const { fake } = h;
      const user = makeUser(7001);
      fake.failNext('sendMessage', 1, 1, { chatId: user.id });
      const started = Date.now();
      fake.pushUpdate(fake.updates.command('help', '', { from: user }));
      const call = await fake.waitForCall('sendMessage', (c) => c.params.chat_id === user.id && c.response?.ok === true);
      assert.ok(call.at - started >= 1000, 'waited retry_after');
      assert.equal(fake.calls('sendMessage').filter((c) => c.params.chat_id === user.id).length, 2);
    } finally {
      await h.close();
    }
  });
});
