import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'vitest';
import { webhookSecret } from '../../../src/bots/telegram/telegram-adapter.ts';
import { makeUser } from '../../fakes/telegram/index.ts';
import { startHarness, waitForText } from './harness.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('Telegram webhook mode', () => {
  it('registers the webhook with a secret and serves updates on the local port', async () => {
    const port = await freePort();
    const h = await startHarness({
      queue: false,
      config: { webhookUrl: 'https://bot.example.org/telegram/hook', webhookPort: port, webhookHost: '127.0.0.1' },
    });
    try {
      const { fake } = h;
      assert.equal(h.adapter.mode, 'webhook');
      assert.equal(fake.webhookUrl, 'https://bot.example.org/telegram/hook');
      const set = fake.calls('setWebhook')[0]!;
      assert.equal(set.params.secret_token, webhookSecret(fake.token));
      assert.equal(fake.calls('getUpdates').length, 0, 'no long polling');

      const user = makeUser(8001);
      const post = (secret: string) =>
        fetch(`http://127.0.0.1:${port}/telegram/hook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
          body: JSON.stringify(fake.updates.command('start', '', { from: user })),
        });
      const forged = await post('wrong');
      assert.equal(forged.status, 403);
      const reply = waitForText(fake, user.id, /^Hello!/);
      const accepted = await post(webhookSecret(fake.token));
      assert.equal(accepted.status, 200);
      await reply;
      assert.equal(fake.calls('sendMessage').length, 1, 'the forged update was ignored');
    } finally {
      await h.close();
    }
  });
});
