import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { Semaphore } from '../../../src/engine/backends/gpt-sovits/semaphore.ts';

describe('Semaphore', () => {
  it('bounds holders and hands slots over in order', async () => {
    const s = new Semaphore(2);
    const signal = new AbortController().signal;
    const a = await s.acquire(signal);
    const b = await s.acquire(signal);
    const order: string[] = [];
    const c = s.acquire(signal).then((r) => {
      order.push('c');
      return r;
    });
    const d = s.acquire(signal).then((r) => {
      order.push('d');
      return r;
    });
    assert.equal(s.inUse, 2);
    a();
    a(); // releasing twice is harmless
    (await c)();
    b();
    (await d)();
    assert.deepEqual(order, ['c', 'd']);
    assert.equal(s.inUse, 0);
  });

  it('drops a waiter whose request is cancelled', async () => {
    const s = new Semaphore(1);
    const hold = await s.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    hold();
    assert.equal(s.inUse, 0);
    (await s.acquire(new AbortController().signal))();
  });
});
