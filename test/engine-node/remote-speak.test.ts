import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { RunningEngineNode } from '../../src/app/engine-service.ts';
import { VocalisError } from '../../src/core/user-facing-error.ts';
import type { VoiceBackend } from '../../src/engine/backend.ts';
import { renderError } from '../../src/i18n/error-messages.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { createToneBackend, estimateFrequency } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice, words } from './voice-fixture.ts';

let redis: TestRedis;
let bot: RuntimeFixture;
let node: RunningEngineNode;

beforeAll(async () => {
  redis = await startTestRedis();
  bot = await startRuntime({
    // The bot's own backend refuses to prepare a voice: in remote mode the node prepares it.
    backends: [refusingToPrepare(createToneBackend())],
    needs: { queue: false },
    env: { VOCALIS_ENGINE: 'remote', REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET },
  });
  node = await startInProcessNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId: 'node-a', backends: [createToneBackend()] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await bot?.close();
  await redis?.cleanup();
});

function refusingToPrepare(backend: VoiceBackend): VoiceBackend {
  return new Proxy(backend, {
    get: (t, p, r) => (p === 'prepareSample' ? () => Promise.reject(new Error('the bot prepared a voice itself')) : Reflect.get(t, p, r)),
  });
}

async function collect(audio: AsyncIterable<PcmChunk>): Promise<PcmChunk[]> {
  const chunks: PcmChunk[] = [];
  for await (const chunk of audio) chunks.push(chunk);
  return chunks;
}

test('/speak through an engine node gives what in-process synthesis gives, chunk for chunk, and carries the mark of the owner', async () => {
  // The preview voice is prepared by the node (the bot's backend would refuse) and published by the bot.
  const { identity, userId, voiceId } = await previewVoice(bot.runtime, 'ada');
  assert.equal(bot.runtime.voices.get(voiceId)?.currentVersion, 1);
  // Twelve seconds: long enough for the mark's whole payload.
  const text = words(60);
  const remote = await collect(bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text }).audio);
  assert.equal(node.server.servedStreams, 1, 'the node served it');

  // The same request in process: the bot runtime's own SpeechEngine, its own ticket.
  const voice = bot.runtime.voices.get(voiceId)!;
  const ticket = bot.runtime.gate.authorize({ purpose: 'speak', ownerUserId: userId, requester: identity, context: EVERYWHERE, text });
  const local = await collect(
    bot.runtime.speech.stream(
      { userId, voiceId, version: voice.currentVersion!, backend: voice.backend },
      { text, language: 'en', speed: 1, variability: 0.5 },
      ticket,
    ),
  );

  assert.ok(remote.length > 1);
  assert.deepEqual(
    remote.map((c) => [c.sampleRate, c.samples.length]),
    local.map((c) => [c.sampleRate, c.samples.length]),
  );
  // Each utterance carries its own mark token, so samples are compared through what they carry: the voice's
  // tone, and the mark naming the owner (the wire itself is exact: test/engine-node/wire-format.test.ts).
  const frequencies = [remote, local].map((chunks) => Math.round(estimateFrequency(joinChunks(chunks))));
  assert.equal(frequencies[0], frequencies[1]);

  const joined = joinChunks(remote);
  const mark = bot.runtime.vocalis.checkMarkInPcm(joined);
  assert.equal(mark.status, 'synthetic');
  assert.ok(mark.status === 'synthetic' && mark.voice.status === 'known' && mark.voice.owner.id === userId, 'the mark names the owner');
});

function joinChunks(chunks: readonly PcmChunk[]): PcmChunk {
  const samples = new Float32Array(chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of chunks) {
    samples.set(c.samples, at);
    at += c.samples.length;
  }
  return { samples, sampleRate: chunks[0]!.sampleRate };
}

test('with no engine node reachable (Redis gone), /speak is refused with engine_unavailable, in both languages', async () => {
  const { identity } = await previewVoice(bot.runtime, 'bob');
  await redis.kill('SIGKILL');
  // The bot's list of nodes is at most a second old.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const outcome = await collect(bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: 'hello' }).audio).then(
    () => 'spoke',
    (error: unknown) => error,
  );
  assert.ok(outcome instanceof VocalisError && outcome.code === 'engine_unavailable', String(outcome));
  assert.equal(renderError('en', outcome), 'The voice server is unavailable right now. Please try again in a moment.');
  assert.equal(renderError('zh', outcome), '语音服务器暂时不可用，请稍后再试。');
  assert.equal(bot.runtime.gate.activeTickets, 0);
  await redis.start();
}, 60_000);
