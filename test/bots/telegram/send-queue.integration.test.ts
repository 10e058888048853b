import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { Telegraf } from 'telegraf';
import { SendQueue } from '../../../src/bots/telegram/send-queue.ts';
import { startFakeTelegram } from '../../fakes/telegram/index.ts';

describe('SendQueue through telegraf against a flood-enforcing fake', () => {
  it('delivers 50 chats x 3 messages with no 429, in order, near the theoretical minimum', async () => {
    const fake = await startFakeTelegram({ enforceFloodLimits: true });
    const bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
    const queue = new SendQueue();
    try {
      await bot.telegram.getMe(); // warm the client up so the first burst is not skewed by start-up work
      const chats = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? -(1000 + i) : 1000 + i));
      const perChat = 3;
      const started = Date.now();
      await Promise.all(
        chats.flatMap((chat) => Array.from({ length: perChat }, (_, n) => queue.enqueue(chat, () => bot.telegram.sendMessage(chat, `message ${n}`)))),
      );
      const elapsed = Date.now() - started;

      assert.equal(fake.rateLimitedCount, 0, 'the fake never had to answer 429');
      assert.equal(fake.floodViolations, 0);
      const sent = fake.calls('sendMessage');
      assert.equal(sent.length, chats.length * perChat);
      for (const chat of chats) {
        assert.deepEqual(
          sent.filter((c) => c.params.chat_id === chat).map((c) => c.params.text),
          ['message 0', 'message 1', 'message 2'],
          `order in chat ${chat}`,
        );
      }
      // 150 messages at 30/s need 5 one-second windows: the last batch starts after 4 s (+ 4 x 50 ms margin).
      const theoreticalMs = Math.ceil((chats.length * perChat) / 30 - 1) * 1000;
      assert.ok(elapsed >= theoreticalMs, `took ${elapsed} ms, faster than the limits allow`);
      assert.ok(elapsed < theoreticalMs + 1200, `took ${elapsed} ms, expected about ${theoreticalMs + 200} ms`);
    } finally {
      await queue.close();
      await fake.close();
    }
  });

  it('recovers from a 429 the server imposes and still delivers', async () => {
    const fake = await startFakeTelegram();
    const bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
    const queue = new SendQueue();
    try {
      fake.failNext('sendMessage', 1, 1, { chatId: 77 });
      const started = Date.now();
      const message = await queue.enqueue(77, () => bot.telegram.sendMessage(77, 'after retry'));
      assert.equal(message.text, 'after retry');
      assert.ok(Date.now() - started >= 1000, 'waited retry_after before retrying');
      assert.equal(fake.calls('sendMessage').length, 2);
    } finally {
      await queue.close();
      await fake.close();
    }
  });
});
