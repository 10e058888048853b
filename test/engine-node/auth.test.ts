import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineNodeConfigError, startEngineNode, type RunningEngineNode } from '../../src/app/engine-service.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { signRequest } from '../../src/engine-node/request-auth.ts';
import { encodeSpeakRequest, SPEAK_PATH } from '../../src/engine-node/speak-request.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { launchEngineNode, startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { nodeKey } from '../../src/engine-node/node-registration.ts';
import { createRedisConnection } from '../../src/jobs/redis-connection.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice } from './voice-fixture.ts';

let redis: TestRedis;
let bot: RuntimeFixture;
let node: RunningEngineNode;
let body: Buffer;

beforeAll(async () => {
  redis = await startTestRedis();
  bot = await startRuntime({ needs: { queue: false } });
  node = await startInProcessNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId: 'node-a', backends: [createToneBackend()] });
  const { identity, userId, voiceId } = await previewVoice(bot.runtime, 'ada');
  const voice = bot.runtime.voices.get(voiceId)!;
  body = encodeSpeakRequest({
    target: { userId, voiceId, version: voice.currentVersion!, backend: voice.backend },
    options: { text: 'one two', language: 'en', speed: 1, variability: 0.5 },
    requester: identity,
    context: EVERYWHERE,
  });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await bot?.close();
  await redis?.cleanup();
});

/** One raw request to the node: its status, and how many bytes of frames it sent. */
function send(headers: Record<string, string>, payload = body): Promise<{ status: number; bytes: number }> {
  const [host, port] = node.address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method: 'POST', path: SPEAK_PATH, headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const signed = (overrides: { secret?: string; nodeId?: string; now?: number; payload?: Buffer } = {}) =>
  signRequest(
    overrides.secret ?? TEST_ENGINE_SECRET,
    { method: 'POST', path: SPEAK_PATH, nodeId: overrides.nodeId ?? 'node-a', body: overrides.payload ?? body },
    overrides.now ?? Date.now(),
  );

test('a request signed with the shared secret is served', async () => {
  const answer = await send(signed());
  assert.equal(answer.status, 200);
  assert.ok(answer.bytes > 1000, 'audio frames came back');
});

test('no signature, a wrong secret, another node, a stale timestamp or a changed body: refused, and nothing synthesised', async () => {
  const before = node.server.servedStreams;
  assert.equal((await send({})).status, 401, 'unsigned');
  assert.equal((await send(signed({ secret: 'another-secret-0123456789abcdef0123456789' }))).status, 401, 'wrong secret');
  assert.equal((await send(signed({ nodeId: 'node-b' }))).status, 401, 'signed for another node');
  assert.equal((await send(signed({ now: Date.now() - 60_000 }))).status, 401, 'a minute old');
  const other = Buffer.from(body.toString('utf8').replace('one two', 'three four'));
  assert.equal((await send(signed(), other)).status, 401, 'body changed after signing');
  assert.equal(node.server.servedStreams, before);
});

test('a replayed request is refused: each nonce is served once', async () => {
  const headers = signed();
  assert.equal((await send(headers)).status, 200);
  assert.equal((await send(headers)).status, 401);
});

test('a node will not start without the secret, and a remote bot needs Redis and the secret', async () => {
  const config = loadConfig({ VOCALIS_DATA_DIR: bot.dataDir, REDIS_URL: redis.url, VOCALIS_ENGINE_LISTEN: '0.0.0.0:0' });
  await assert.rejects(startEngineNode(config, createLogger({ level: 'silent' })), (error: unknown) => {
    assert.ok(error instanceof EngineNodeConfigError);
    assert.match(error.message, /VOCALIS_ENGINE_SECRET is required.*not a loopback address/);
    return true;
  });
  const everywhere = loadConfig({
    VOCALIS_DATA_DIR: bot.dataDir,
    REDIS_URL: redis.url,
    VOCALIS_ENGINE_LISTEN: '0.0.0.0:0',
    VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET,
  });
  await assert.rejects(
    startEngineNode(everywhere, createLogger({ level: 'silent' })),
    /VOCALIS_ENGINE_ADVERTISE/,
    'every interface, but no address to register',
  );
  assert.throws(
    () => loadConfig({ VOCALIS_ENGINE: 'remote' }),
    (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
  );
  assert.throws(
    () => loadConfig({ VOCALIS_ENGINE_SECRET: 'short' }),
    (error: unknown) => error instanceof ConfigError && !error.message.includes('short'),
    'a bad secret is named, never echoed',
  );
  assert.equal(loadConfig({}).engine.listen, '127.0.0.1:7077', 'loopback by default');
});

test('npm run engine (src/engine-main.ts) starts from environment variables alone, registers, and stops on SIGTERM; without the secret it refuses', async () => {
  const redisClient = createRedisConnection(redis.url, 'producer');
  try {
    const env = { VOCALIS_BACKEND: 'classic' };
    const refused = launchEngineNode({
      dataDir: bot.dataDir,
      masterKey: bot.masterKey,
      redisUrl: redis.url,
      nodeId: 'node-main',
      env: { ...env, VOCALIS_ENGINE_SECRET: '' },
      entry: 'npm-run-engine',
    });
    const exit = await Promise.race([refused.exited, sleep(30_000).then(() => null)]).finally(() => refused.kill('SIGKILL'));
    assert.equal(exit?.code, 1, 'it exits at once, with an error');
    assert.ok(
      refused.logs.some((l) => JSON.stringify(l).includes('VOCALIS_ENGINE_SECRET is required')),
      'it says why',
    );

    const node = launchEngineNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId: 'node-main', env, entry: 'npm-run-engine' });
    const address = await node.address;
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    assert.equal(await redisClient.hget(nodeKey('node-main'), 'address'), address);
    node.kill('SIGTERM');
    assert.equal((await node.exited).code, 0);
    assert.equal(await redisClient.exists(nodeKey('node-main')), 0);
    assert.ok(!JSON.stringify(node.logs).includes(TEST_ENGINE_SECRET), 'the secret is never logged');
  } finally {
    await redisClient.quit();
  }
});
