import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEngineNode } from '../../src/app/engine-service.ts';
import { VocalisError } from '../../src/core/user-facing-error.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { selfSignedCertificate } from '../support/tls-cert.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice } from './voice-fixture.ts';

let redis: TestRedis;
let dir: string;
let node: RunningEngineNode;
const bots: RuntimeFixture[] = [];

/** A self-signed certificate for 127.0.0.1 (the node's address), as the files an operator configures. */
async function certificate(name: string): Promise<{ cert: string; key: string }> {
  const material = selfSignedCertificate(name);
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await writeFile(cert, material.cert);
  await writeFile(key, material.key, { mode: 0o600 });
  return { cert, key };
}

let nodeCert: { cert: string; key: string };
let otherCert: { cert: string; key: string };

beforeAll(async () => {
  redis = await startTestRedis();
  dir = await mkdtemp(join(tmpdir(), 'vocalis-tls-'));
  nodeCert = await certificate('node-a');
  otherCert = await certificate('someone-else');
}, 60_000);

afterAll(async () => {
  await node?.stop();
  for (const bot of bots) await bot.close();
  await redis?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function remoteBot(env: Record<string, string>): Promise<RuntimeFixture> {
  const first = bots[0];
  const bot = await startRuntime({
    needs: { queue: false },
    ...(first ? { dataDir: first.dataDir } : {}),
    env: {
      VOCALIS_ENGINE: 'remote',
      REDIS_URL: redis.url,
      VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET,
      ...(first ? { VOCALIS_MASTER_KEY: first.masterKey } : {}),
      ...env,
    },
  });
  bots.push(bot);
  return bot;
}

async function collect(audio: AsyncIterable<PcmChunk>): Promise<PcmChunk[]> {
  const chunks: PcmChunk[] = [];
  for await (const chunk of audio) chunks.push(chunk);
  return chunks;
}

test('with VOCALIS_ENGINE_TLS_* the node serves TLS; a bot trusting its CA speaks through it, others cannot reach it', async () => {
  const trusting = await remoteBot({ VOCALIS_ENGINE_TLS_CA: nodeCert.cert });
  node = await startInProcessNode({
    dataDir: trusting.dataDir,
    masterKey: trusting.masterKey,
    redisUrl: redis.url,
    nodeId: 'node-a',
    backends: [createToneBackend()],
    env: { VOCALIS_ENGINE_TLS_CERT: nodeCert.cert, VOCALIS_ENGINE_TLS_KEY: nodeCert.key },
  });
  const { identity } = await previewVoice(trusting.runtime, 'ada');
  const chunks = await collect(trusting.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: 'one two three' }).audio);
  assert.ok(chunks.length >= 3);

  // A bot speaking plain HTTP to it, and one trusting another CA: neither is served.
  for (const env of [{}, { VOCALIS_ENGINE_TLS_CA: otherCert.cert }] as Array<Record<string, string>>) {
    const bot = await remoteBot(env);
    const outcome = await collect(bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: 'one two' }).audio).then(
      () => 'spoke',
      (error: unknown) => error,
    );
    assert.ok(outcome instanceof VocalisError && outcome.code === 'engine_unavailable', `${JSON.stringify(env)}: ${String(outcome)}`);
  }
  assert.equal(node.server.servedStreams, 1, 'only the trusting bot was served');
}, 60_000);
