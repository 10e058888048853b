import { test } from 'vitest';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/core/rate-limiter.ts';

test('a bucket allows its capacity, refuses with the wait, and refills', () => {
  let now = 0;
  const limiter = new RateLimiter({ capacity: 2, perMinute: 6, now: () => now });
  limiter.take('user:1');
  limiter.take('user:1');
  assert.throws(
    () => limiter.take('user:1'),
    (error: Error & { code?: string; details?: { seconds: number } }) => error.code === 'rate_limited' && error.details?.seconds === 10,
  );
  now += 10_000;
  limiter.take('user:1');
});

test('taking for several keys is all or nothing', () => {
  const limiter = new RateLimiter({ capacity: 1, perMinute: 1, now: () => 0 });
  limiter.take('guild:a');
  assert.throws(() => limiter.take('user:2', 'guild:a'), { code: 'rate_limited' });
  limiter.take('user:2', 'guild:b');
});
