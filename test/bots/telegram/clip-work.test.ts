import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ClipWork } from '../../../src/bots/telegram/clip-work.ts';
import { ConcurrencyLimit } from '../../../src/bots/telegram/concurrency-limit.ts';
import { InFlight } from '../../../src/bots/telegram/in-flight.ts';
import { SpeechFirst } from '../../../src/bots/telegram/speech-first.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('clip work scheduling', () => {
  it('ConcurrencyLimit never runs more than its limit and lets waiters in as slots free up', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        limit.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await tick(10 + (i % 3) * 5);
          order.push(i);
          running--;
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.equal(order.length, 6);
    assert.equal(limit.active, 0);
    assert.throws(() => new ConcurrencyLimit(0), RangeError);
  });

  it("ClipWork keeps one person's clips in order, runs different people's side by side up to the limit, and stop waits for all", async () => {
    const inFlight = new InFlight();
    const work = new ClipWork(inFlight, new SpeechFirst(), 2);
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const clip = (who: string, n: number, ms: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(ms);
      log.push(`${who}${n}`);
      running--;
    };
    work.schedule('ann', clip('ann', 1, 40));
    work.schedule('ann', clip('ann', 2, 5));
    work.schedule('ben', clip('ben', 1, 5));
    work.schedule('cat', clip('cat', 1, 5));
    await inFlight.idle(5_000);
    assert.equal(log.length, 4);
    assert.ok(log.indexOf('ann1') < log.indexOf('ann2'), `ann in order: ${log.join(' ')}`);
    assert.ok(log.indexOf('ben1') < log.indexOf('ann1'), 'ben did not wait for ann');
    assert.equal(peak, 2);
  });

  it('a clip waits while /speak is being synthesised, and for at most the configured time', async () => {
    const speech = new SpeechFirst(300);
    const inFlight = new InFlight();
    const work = new ClipWork(inFlight, speech, 1);
    let clipStarted = 0;
    const spoken = speech.speaking(() => tick(100));
    const started = Date.now();
    work.schedule('ann', async () => {
      clipStarted = Date.now();
    });
    await spoken;
    await inFlight.idle(5_000);
    assert.ok(clipStarted - started >= 90, `the clip started ${clipStarted - started} ms in, after the speech`);

    // A synthesis that never ends cannot hold clips back for longer than the limit.
    let release: () => void = () => {};
    void speech.speaking(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const waitedFrom = Date.now();
    work.schedule('ann', async () => {
      clipStarted = Date.now();
    });
    await inFlight.idle(5_000);
    assert.ok(clipStarted - waitedFrom >= 280 && clipStarted - waitedFrom < 2_000, `waited ${clipStarted - waitedFrom} ms`);
    release();
  });
});
