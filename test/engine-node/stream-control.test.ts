import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningEngineNode } from '../../src/app/engine-service.ts';
import type { LoadedVoice, VoiceBackend, VoiceFiles } from '../../src/engine/backend.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice, words } from './voice-fixture.ts';

/** What the node's backend did: samples produced so far, and whether its synthesis saw the abort. */
const produced = { samples: 0, aborted: 0, stallFrom: Number.POSITIVE_INFINITY };

/** The tone backend, counting what it synthesises and, from chunk `stallFrom` on, stalling until aborted. */
function instrumented(backend: VoiceBackend): VoiceBackend {
  const loadVoice = async (files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> => {
    const voice = await backend.loadVoice(files, signal);
    return {
      sizeBytes: voice.sizeBytes,
      dispose: () => voice.dispose(),
      async *synthesize(request) {
        request.signal.addEventListener('abort', () => produced.aborted++, { once: true });
        let index = 0;
        for await (const chunk of voice.synthesize(request)) {
          if (index++ >= produced.stallFrom) await sleep(60_000, undefined, { signal: request.signal });
          produced.samples += chunk.samples.length;
          yield chunk;
        }
      },
    };
  };
  return new Proxy(backend, { get: (t, p, r) => (p === 'loadVoice' ? loadVoice : Reflect.get(t, p, r)) });
}

let redis: TestRedis;
let bot: RuntimeFixture;
let node: RunningEngineNode;
let identity: { platform: string; platformUserId: string };

beforeAll(async () => {
  redis = await startTestRedis();
  bot = await startRuntime({
    needs: { queue: false },
    env: { VOCALIS_ENGINE: 'remote', REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET },
  });
  node = await startInProcessNode({
    dataDir: bot.dataDir,
    masterKey: bot.masterKey,
    redisUrl: redis.url,
    nodeId: 'node-a',
    // A millisecond per word: synthesis yields to the event loop the bot shares with it here.
    backends: [instrumented(createToneBackend({ wordMs: 1 }))],
  });
  ({ identity } = await previewVoice(bot.runtime, 'ada'));
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await bot?.close();
  await redis?.cleanup();
});

test('a slow reader holds the synthesis back: the node queues at most a frame past the socket, not the utterance', async () => {
  produced.samples = 0;
  produced.stallFrom = Number.POSITIVE_INFINITY;
  // 4000 words × 0.2 s at 16 kHz: 12.8 M samples, 51 MB of frames if the node buffered them all.
  const total = 4000 * 3200;
  const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(4000) });
  const audio = speech.audio[Symbol.asyncIterator]();
  assert.equal((await audio.next()).done, false);
  // The reader stops; give the node ample time to run ahead if it would.
  await sleep(3000);
  const ahead = produced.samples;
  console.log('FIG', ahead, node.server.peakQueuedBytes);
  await audio.return?.(undefined);
  assert.ok(ahead < total / 4, `the node synthesised ${ahead} of ${total} samples for a reader who took one chunk`);
  assert.ok(node.server.peakQueuedBytes < 256 * 1024, `the node queued ${node.server.peakQueuedBytes} bytes for one response`);
  await eventually(() => node.server.activeStreams === 0, 2000, 'the stream to end on the node');
});

test('a client that stops listening ends the synthesis on the node at once: voice and ticket released', async () => {
  produced.aborted = 0;
  produced.stallFrom = 3;
  const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(20) });
  const audio = speech.audio[Symbol.asyncIterator]();
  assert.equal((await audio.next()).done, false);
  await eventually(() => node.runtime.speech.activeStreams === 1, 2000, 'the node to be synthesising');
  const stoppedAt = performance.now();
  await audio.return?.(undefined);
  await eventually(() => produced.aborted === 1 && node.server.activeStreams === 0 && node.runtime.gate.activeTickets === 0, 2000, 'the node to stop');
  const ms = performance.now() - stoppedAt;
  assert.ok(ms < 500, `the node stopped ${ms.toFixed(0)} ms after the client`);
  assert.equal(node.runtime.speech.activeStreams, 0);
});

test("the caller's abort signal reaches the node the same way", async () => {
  produced.aborted = 0;
  produced.stallFrom = 3;
  const stop = new AbortController();
  const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(20), signal: stop.signal });
  const audio = speech.audio[Symbol.asyncIterator]();
  assert.equal((await audio.next()).done, false);
  const next = audio.next();
  await eventually(() => node.runtime.speech.activeStreams === 1, 2000, 'the node to be synthesising');
  stop.abort(new Error('the listener left'));
  await assert.rejects(next, /the listener left/);
  await eventually(() => produced.aborted === 1 && node.server.activeStreams === 0 && node.runtime.gate.activeTickets === 0, 1000, 'the node to stop');
  assert.equal(bot.runtime.gate.activeTickets, 0, "the bot's ticket is released too");
});
