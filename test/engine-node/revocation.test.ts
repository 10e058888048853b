import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningEngineNode } from '../../src/app/engine-service.ts';
import { isConsentDenial } from '../../src/consent/consent-errors.ts';
import type { LoadedVoice, VoiceBackend, VoiceFiles } from '../../src/engine/backend.ts';
import { openRawStream, startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { runNode } from '../support/spawn-node.ts';
import { stallingAfterFirstChunk } from '../support/stalling-backend.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice, words } from './voice-fixture.ts';

let redis: TestRedis;
let bot: RuntimeFixture;
let node: RunningEngineNode;
/** Voices the node's backend has disposed of: dropped from memory. */
let disposed = 0;

function disposals(backend: VoiceBackend): VoiceBackend {
  const loadVoice = async (files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> => {
    const voice = await backend.loadVoice(files, signal);
    return {
      sizeBytes: voice.sizeBytes,
      synthesize: (request) => voice.synthesize(request),
      dispose: () => {
        disposed++;
        return voice.dispose();
      },
    };
  };
  return new Proxy(backend, { get: (t, p, r) => (p === 'loadVoice' ? loadVoice : Reflect.get(t, p, r)) });
}

beforeAll(async () => {
  redis = await startTestRedis();
  bot = await startRuntime({
    needs: { queue: false },
    env: { VOCALIS_ENGINE: 'remote', REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET },
  });
  // After its first chunk the node's synthesis stalls (honouring its signal): no per-chunk check runs meanwhile.
  node = await startInProcessNode({
    dataDir: bot.dataDir,
    masterKey: bot.masterKey,
    redisUrl: redis.url,
    nodeId: 'node-a',
    backends: [disposals(stallingAfterFirstChunk(createToneBackend(), 30_000))],
  });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await bot?.close();
  await redis?.cleanup();
});

test("a revocation made in another process stops the node's stream within a second, by the node's own gate", async () => {
  const { identity, userId, voiceId } = await previewVoice(bot.runtime, 'dana');
  const voice = bot.runtime.voices.get(voiceId)!;
  // A request straight to the node, with no bot ticket behind it: only the node's gate can stop it.
  const { frames, done } = openRawStream(node.address, 'node-a', {
    target: { userId, voiceId, version: voice.currentVersion!, backend: voice.backend },
    options: { text: words(10), language: 'en', speed: 1, variability: 0.5 },
    requester: identity,
    context: EVERYWHERE,
  });
  await eventually(() => frames.some((f) => f.frame.type === 'audio'), 5000, 'the first audio');

  const revoke = runNode(['src/cli/main.ts', 'consent', 'revoke', '--user', 'dana', '--json'], {
    VOCALIS_DATA_DIR: bot.dataDir,
    VOCALIS_MASTER_KEY: bot.masterKey,
    VOCALIS_LOG_LEVEL: 'silent',
  });
  const committedAt = await eventually(() => (bot.runtime.consents.store.live(userId) === null ? performance.now() : undefined), 60_000, 'the CLI to commit');
  await Promise.race([done, sleep(1500)]);
  const last = frames.at(-1)!;
  assert.equal(last.frame.type, 'error', 'the stream ended with a typed error');
  assert.ok(last.frame.type === 'error' && last.frame.error.family === 'consent_denied' && last.frame.error.code === 'no_consent', JSON.stringify(last.frame));
  assert.ok(last.at - committedAt <= 1000, `stopped ${(last.at - committedAt).toFixed(0)} ms after the commit`);
  await eventually(() => node.server.activeStreams === 0 && node.runtime.gate.activeTickets === 0, 1000, 'the node to let go');
  await eventually(() => disposed === 1, 1500, 'the revoked voice to leave the node’s memory');
  assert.equal((await revoke).code, 0);
});

test('a revocation in the bot process stops the remote stream at once: the bot aborts, the node stops', async () => {
  const { identity } = await previewVoice(bot.runtime, 'erin');
  const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(10) });
  const audio = speech.audio[Symbol.asyncIterator]();
  assert.equal((await audio.next()).done, false);
  const next = audio.next().then(
    () => ({ at: performance.now(), error: undefined as unknown }),
    (error: unknown) => ({ at: performance.now(), error }),
  );
  await eventually(() => node.server.activeStreams === 1, 2000, 'the node to be streaming');
  const revokedAt = performance.now();
  await bot.runtime.vocalis.revoke({ target: identity, actor: { kind: 'user', ...identity } });
  const ended = await next;
  assert.ok(isConsentDenial(ended.error), `ended by the consent's end: ${String(ended.error)}`);
  await eventually(() => node.server.activeStreams === 0, 1000, 'the node to stop');
  assert.ok(performance.now() - revokedAt < 1000);
  // Nobody told the node's cache: its sweep finds the consent ended and drops the model within a second or so.
  await eventually(() => disposed === 2, 2500, 'the revoked voice to leave the node’s memory');
});

test('a voice loaded on the node with no stream running leaves its memory within about a second of a revocation', async () => {
  const { identity } = await previewVoice(bot.runtime, 'fay');
  // One short /speak (the stalling backend gives its first chunk at once): the voice is now loaded on the node, idle.
  const audio = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: 'hello' }).audio;
  for await (const _ of audio);
  await eventually(() => node.server.activeStreams === 0, 2000, 'the stream to end');
  const before = disposed;
  const revokedAt = performance.now();
  await bot.runtime.vocalis.revoke({ target: identity, actor: { kind: 'user', ...identity } });
  await eventually(() => disposed === before + 1, 2500, 'the revoked voice to leave the node’s memory');
  const ms = performance.now() - revokedAt;
  assert.ok(ms < 2000, `dropped ${ms.toFixed(0)} ms after the revocation`);
});
