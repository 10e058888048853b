import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { TelegramError } from 'telegraf';
import { isRateLimitError, SendQueue, SendQueueClosedError, type ChatId, type SendQueueOptions } from '../../../src/bots/telegram/send-queue.ts';
import { ManualTimer } from './manual-timer.ts';

interface Start {
  readonly chat: ChatId;
  readonly seq: number;
  readonly at: number;
}

/** A queue on a virtual clock plus a log of when each call started. */
function harness(options: SendQueueOptions = {}) {
  const timer = new ManualTimer();
  const queue = new SendQueue({ timer, ...options });
  const starts: Start[] = [];
  const send = (chat: ChatId, seq: number, outcome: () => Promise<string> = async () => `${String(chat)}:${seq}`) =>
    queue.enqueue(chat, () => {
      starts.push({ chat, seq, at: timer.now() });
      return outcome();
    });
  return { timer, queue, starts, send };
}

function rateLimited(retryAfter: number): TelegramError {
  return new TelegramError({ error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });
}

describe('isRateLimitError', () => {
  it('recognises telegraf 429 errors with retry_after and nothing else', () => {
    assert.equal(isRateLimitError(rateLimited(5)), true);
    assert.equal(isRateLimitError(new TelegramError({ error_code: 429, description: 'Too Many Requests' })), false);
    assert.equal(isRateLimitError(new TelegramError({ error_code: 400, description: 'Bad Request', parameters: { retry_after: 1 } })), false);
    assert.equal(isRateLimitError(new Error('429')), false);
    assert.equal(isRateLimitError({ response: { error_code: 429, parameters: { retry_after: '3' } } }), false);
    assert.equal(isRateLimitError(null), false);
  });
});

describe('SendQueue scheduling', () => {
  it('spaces calls to one chat by the per-chat interval, in FIFO order', async () => {
    const { timer, starts, send } = harness();
    const results = [send(1, 0), send(1, 1), send(1, 2)];
    await timer.runAll();
    assert.deepEqual(await Promise.all(results), ['1:0', '1:1', '1:2']);
    assert.deepEqual(
      starts.map((s) => [s.seq, s.at]),
      [
        [0, 0],
        [1, 1000],
        [2, 2000],
      ],
    );
  });

  it('measures the interval from when the previous call of the chat finished', async () => {
    const { timer, starts, send } = harness();
    const slow = () => new Promise<string>((resolve) => timer.setTimeout(() => resolve('slow'), 2500));
    const results = [send(1, 0, slow), send(1, 1)];
    await timer.runAll();
    await Promise.all(results);
    assert.deepEqual(
      starts.map((s) => s.at),
      [0, 3500],
    );
  });

  it('counts running calls against the global rate until they finish', async () => {
    const { timer, starts, send } = harness({ globalPerSecond: 2 });
    const slow = () => new Promise<string>((resolve) => timer.setTimeout(() => resolve('slow'), 300));
    const results = [send(1, 0, slow), send(2, 0, slow), send(3, 0)];
    await timer.runAll();
    await Promise.all(results);
    assert.deepEqual(
      starts.map((s) => s.at),
      [0, 0, 1300],
    );
  });

  it('keeps under the global rate across chats', async () => {
    const { timer, starts, send } = harness({ globalPerSecond: 30 });
    const results = Array.from({ length: 40 }, (_, i) => send(100 + i, 0));
    await timer.runAll();
    await Promise.all(results);
    assert.equal(starts.filter((s) => s.at === 0).length, 30);
    assert.equal(starts.filter((s) => s.at === 1000).length, 10);
  });

  it('serves chats round-robin so a busy chat cannot starve the others', async () => {
    const { timer, starts, send } = harness({ perChatIntervalMs: 0, globalPerSecond: 1 });
    const busy = Array.from({ length: 10 }, (_, i) => send('busy', i));
    const quiet = [send('quiet-a', 0), send('quiet-b', 0)];
    await timer.runAll();
    await Promise.all([...busy, ...quiet]);
    assert.deepEqual(
      starts.slice(0, 4).map((s) => s.chat),
      ['busy', 'quiet-a', 'quiet-b', 'busy'],
    );
  });

  it('limits a group chat to 20 calls per rolling minute', async () => {
    const { timer, starts, send } = harness();
    const results = Array.from({ length: 22 }, (_, i) => send(-500, i));
    await timer.runAll();
    await Promise.all(results);
    assert.equal(starts[19]?.at, 19_000);
    assert.equal(starts[20]?.at, 60_000, '21st call waits for the first to leave the minute window');
    assert.equal(starts[21]?.at, 61_000);
  });

  it('does not apply the group limit to private chats', async () => {
    const { timer, starts, send } = harness();
    const results = Array.from({ length: 22 }, (_, i) => send(500, i));
    await timer.runAll();
    await Promise.all(results);
    assert.equal(starts[21]?.at, 21_000);
  });
});

describe('SendQueue errors and retries', () => {
  it('retries a 429 after retry_after while other chats keep flowing', async () => {
    const { timer, starts, send } = harness();
    let attempts = 0;
    const flaky = async () => {
      attempts += 1;
      if (attempts === 1) throw rateLimited(3);
      return 'delivered';
    };
    const first = send(1, 0, flaky);
    const second = send(1, 1);
    const other = send(2, 0);
    await timer.advance(500);
    assert.deepEqual(
      starts.map((s) => [s.chat, s.seq, s.at]),
      [
        [1, 0, 0],
        [2, 0, 0],
      ],
      'chat 2 was not held back',
    );
    await timer.runAll();
    assert.equal(await first, 'delivered');
    await Promise.all([second, other]);
    assert.deepEqual(
      starts.filter((s) => s.chat === 1).map((s) => [s.seq, s.at]),
      [
        [0, 0],
        [0, 3000],
        [1, 4000],
      ],
      'the retried call keeps its place ahead of the next one',
    );
  });

  it('gives up after maxRetries and hands the 429 to the caller', async () => {
    const { timer, starts, send } = harness({ maxRetries: 2 });
    const doomed = send(1, 0, async () => {
      throw rateLimited(1);
    });
    const rejected = assert.rejects(doomed, (error: unknown) => isRateLimitError(error));
    await timer.runAll();
    await rejected;
    assert.equal(starts.length, 3);
  });

  it('does not sit out an absurd retry_after', async () => {
    const { timer, send } = harness({ maxRetryAfterSeconds: 60 });
    const rejected = assert.rejects(
      send(1, 0, async () => {
        throw rateLimited(3600);
      }),
      /retry after 3600/,
    );
    await timer.runAll();
    await rejected;
  });

  it('rejects the caller on other errors and continues with the next call', async () => {
    const { timer, send } = harness();
    const failing = send(1, 0, async () => {
      throw new TelegramError({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    });
    const rejected = assert.rejects(failing, /bot was blocked/);
    const next = send(1, 1);
    await timer.runAll();
    await rejected;
    assert.equal(await next, '1:1');
  });

  it('turns a synchronous throw into a rejection', async () => {
    const { timer, queue } = harness();
    const rejected = assert.rejects(
      queue.enqueue(1, () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await timer.runAll();
    await rejected;
  });

  it('pauses every chat when several chats are rate limited at once', async () => {
    const { timer, starts, send } = harness({ globalFloodChats: 3 });
    const failOnce = (() => {
      const failed = new Set<ChatId>();
      return (chat: ChatId) => async () => {
        if (!failed.has(chat)) {
          failed.add(chat);
          throw rateLimited(5);
        }
        return 'ok';
      };
    })();
    const hit = [1, 2, 3].map((chat) => send(chat, 0, failOnce(chat)));
    await timer.advance(1);
    const late = send(4, 0);
    await timer.runAll();
    await Promise.all([...hit, late]);
    const lateStart = starts.find((s) => s.chat === 4);
    assert.equal(lateStart?.at, 5000, 'an unrelated chat waited for the global pause');
  });

  it('close() rejects waiting calls with SendQueueClosedError and refuses new ones', async () => {
    const { timer, queue, send } = harness();
    const running = send(1, 0, () => new Promise((resolve) => timer.setTimeout(() => resolve('done'), 100)));
    const waiting = send(1, 1);
    const otherChat = send(2, 0, () => new Promise((resolve) => timer.setTimeout(() => resolve('also done'), 100)));
    const retrying = send(3, 0, async () => {
      throw rateLimited(10);
    });
    await timer.advance(1);
    const closed = queue.close();
    await assert.rejects(waiting, (e: unknown) => e instanceof SendQueueClosedError && e.chatId === 1 && /send queue closed/.test(e.message));
    await assert.rejects(retrying, SendQueueClosedError);
    await assert.rejects(
      queue.enqueue(9, async () => 'never'),
      SendQueueClosedError,
    );
    await timer.advance(200);
    await closed;
    assert.equal(await running, 'done', 'calls already on the wire finish');
    assert.equal(await otherChat, 'also done');
    assert.equal(timer.pendingTimers, 0);
  });
});

describe('SendQueue invariants (property-based)', () => {
  it('never exceeds any limit as Telegram sees it, keeps per-chat order and delivers everything', async () => {
    const chatIds = fc.constantFrom<ChatId>(1, 2, 3, 4, -10, -11, 'alpha');
    // `seenAt` places Telegram's receipt anywhere between our send and its answer (network jitter).
    const workload = fc.array(
      fc.record({
        chat: chatIds,
        delayMs: fc.nat({ max: 3000 }),
        latencyMs: fc.nat({ max: 400 }),
        seenAt: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      { minLength: 1, maxLength: 60 },
    );
    await fc.assert(
      fc.asyncProperty(workload, async (items) => {
        const { timer, starts, queue } = harness({ globalPerSecond: 5, groupPerMinute: 4 });
        const results: Promise<unknown>[] = [];
        const expectedOrder = new Map<ChatId, number[]>();
        // Enqueue at the given virtual times, each call taking latencyMs.
        const sorted = items.map((item, seq) => ({ ...item, seq })).sort((a, b) => a.delayMs - b.delayMs || a.seq - b.seq);
        for (const item of sorted) {
          timer.setTimeout(() => {
            expectedOrder.set(item.chat, [...(expectedOrder.get(item.chat) ?? []), item.seq]);
            results.push(
              queue.enqueue(item.chat, () => {
                starts.push({ chat: item.chat, seq: item.seq, at: timer.now() + item.seenAt * item.latencyMs });
                return new Promise((resolve) => timer.setTimeout(() => resolve(item.seq), item.latencyMs));
              }),
            );
          }, item.delayMs);
        }
        await timer.runAll();
        assert.deepEqual(
          await Promise.all(results),
          sorted.map((i) => i.seq),
        );
        assert.equal(starts.length, items.length);
        for (const [chat, order] of expectedOrder) {
          const mine = starts.filter((s) => s.chat === chat);
          assert.deepEqual(
            mine.map((s) => s.seq),
            order,
            `FIFO for chat ${String(chat)}`,
          );
          for (let i = 1; i < mine.length; i += 1) assert.ok((mine[i]?.at ?? 0) - (mine[i - 1]?.at ?? 0) >= 1000);
          if (typeof chat === 'number' && chat < 0) {
            for (let i = 4; i < mine.length; i += 1) assert.ok((mine[i]?.at ?? 0) - (mine[i - 4]?.at ?? 0) >= 60_000);
          }
        }
        const times = starts.map((s) => s.at).sort((a, b) => a - b);
        for (let i = 5; i < times.length; i += 1) assert.ok((times[i] ?? 0) - (times[i - 5] ?? 0) >= 1000, 'global rate');
      }),
      { numRuns: 60 },
    );
  });
});
