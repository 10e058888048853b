import { test } from 'vitest';
import assert from 'node:assert/strict';
import { LeasedLru } from '../../src/engine/leased-lru.ts';

test('one load per key, bounded by bytes, never evicting what is in use, evicting by tag at once', async () => {
  const disposed: string[] = [];
  const lru = new LeasedLru<string>(100, (value) => void disposed.push(value));
  let loads = 0;
  const load = (value: string, bytes: number) => async () => {
    loads++;
    return { value, bytes };
  };
  const [a1, a2] = await Promise.all([lru.acquire('a', load('A', 60), 'voice-a'), lru.acquire('a', load('A', 60), 'voice-a')]);
  assert.equal(loads, 1, 'concurrent requests share one load');
  assert.equal(a1.value, 'A');
  const b = await lru.acquire('b', load('B', 60), 'voice-b');
  assert.equal(lru.residentBytes, 120);
  assert.deepEqual(disposed, [], 'both are in use: nothing is evicted over the bound');
  a1.release();
  a2.release();
  assert.deepEqual(disposed, []);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(disposed, ['A'], 'released and over the bound: the least recently used goes');
  lru.evict(['voice-b']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(disposed, ['A', 'B'], 'evicted by tag even while in use');
  b.release();
  assert.equal(lru.size, 0);
  assert.equal(lru.residentBytes, 0);
});

test('a failed load is not cached', async () => {
  const lru = new LeasedLru<string>(100, () => undefined);
  await assert.rejects(
    lru.acquire('x', async () => {
      throw new Error('corrupt');
    }),
    /corrupt/,
  );
  assert.equal(lru.size, 0);
  const ok = await lru.acquire('x', async () => ({ value: 'fixed', bytes: 1 }));
  assert.equal(ok.value, 'fixed');
});
