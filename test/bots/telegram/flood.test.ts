import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupChat, makeUser, privateChat } from '../../fakes/telegram/index.ts';
import { startHarness } from './harness.ts';

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
        const texts = fake.calls('sendMessage').filter((c) => c.params.chat_id === privateChat(user).id).map((c) => String(c.params.text));
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
