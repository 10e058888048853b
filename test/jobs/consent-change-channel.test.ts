import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ConsentChanges } from '../../src/consent/consent-changes.ts';
import { ConsentChangeChannel } from '../../src/jobs/consent-change-channel.ts';
import { startTestRedis } from '../support/redis-server.ts';

/** `vocalis:consent-changes` on a real redis-server: what one process announces, the others hear. */
test('a change announced in one process reaches the listeners of another, and its own at once', async () => {
  const redis = await startTestRedis();
  const channels = [new ConsentChangeChannel(redis.url), new ConsentChangeChannel(redis.url)];
  try {
    const [here, there] = [new ConsentChanges(), new ConsentChanges()];
    assert.equal(await here.relayThrough(channels[0]!), true);
    assert.equal(await there.relayThrough(channels[1]!), true);
    const heardHere: string[] = [];
    const heardThere: string[] = [];
    here.subscribe((userId) => heardHere.push(userId));
    const arrived = new Promise<void>((resolve) =>
      there.subscribe((userId) => {
        heardThere.push(userId);
        resolve();
      }),
    );
    here.announce('u_0123456789abcdef0123');
    await Promise.resolve();
    assert.deepEqual(heardHere, ['u_0123456789abcdef0123'], 'this process hears it without Redis');
    await arrived;
    assert.deepEqual(heardThere, ['u_0123456789abcdef0123']);
  } finally {
    await Promise.all(channels.map((c) => c.close()));
    await redis.cleanup();
  }
});

test('an unreachable Redis neither blocks a start nor a close: the relay gives up waiting, and the timer covers', async () => {
  // A port nothing listens on.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
  const errors: unknown[] = [];
  const changes = new ConsentChanges((error) => errors.push(error));
  const channel = new ConsentChangeChannel(`redis://127.0.0.1:${port}`);
  const started = performance.now();
  assert.equal(await changes.relayThrough(channel, 500), false);
  assert.ok(performance.now() - started < 2000);
  assert.ok(errors.some((e) => e instanceof Error && /not relayed/.test(e.message)));
  changes.announce('u_0123456789abcdef0123');
  const closing = performance.now();
  await channel.close();
  assert.ok(performance.now() - closing < 5000, 'close does not wait for ever on an announcement Redis never took');
}, 20_000);
