import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { RunningEngineNode } from '../../src/app/engine-service.ts';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeKey } from '../../src/engine-node/node-registration.ts';
import { rankNodes } from '../../src/engine-node/rendezvous.ts';
import { createRedisConnection } from '../../src/jobs/redis-connection.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { startInProcessNode, TEST_ENGINE_SECRET } from '../support/engine-node.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { EVERYWHERE, previewVoice } from './voice-fixture.ts';

let redis: TestRedis;
let bot: RuntimeFixture;
const nodes = new Map<string, RunningEngineNode>();

beforeAll(async () => {
  redis = await startTestRedis();
  bot = await startRuntime({
    needs: { queue: false },
    env: { VOCALIS_ENGINE: 'remote', REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET },
  });
  for (const nodeId of ['node-a', 'node-b']) {
    nodes.set(
      nodeId,
      await startInProcessNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId, backends: [createToneBackend()] }),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const node of nodes.values()) await node.stop();
  await bot?.close();
  await redis?.cleanup();
});

const served = () => Object.fromEntries([...nodes].map(([id, node]) => [id, node.server.servedStreams]));

async function speakAll(identity: { platform: string; platformUserId: string }, text = 'one two three'): Promise<void> {
  for await (const _ of bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text }).audio);
}

test('rendezvous ranking: the same order everywhere, and a node leaving moves only its own voices', () => {
  const all = ['n1', 'n2', 'n3', 'n4'].map((nodeId) => ({ nodeId }));
  const voices = Array.from({ length: 400 }, (_, i) => `v_${i}`);
  const first = (list: typeof all, v: string) => rankNodes(v, list)[0]!.nodeId;
  const counts = new Map<string, number>();
  for (const v of voices) counts.set(first(all, v), (counts.get(first(all, v)) ?? 0) + 1);
  for (const node of all) assert.ok((counts.get(node.nodeId) ?? 0) > 60, `voices spread over the nodes: ${[...counts]}`);
  const without = all.filter((n) => n.nodeId !== 'n2');
  for (const v of voices) {
    if (first(all, v) !== 'n2') assert.equal(first(without, v), first(all, v), 'a voice not on the leaving node stays put');
    else assert.equal(first(without, v), rankNodes(v, all)[1]!.nodeId, "the leaving node's voice goes to its second choice");
  }
});

test('one voice is always served by the same node while it lives, and by the next in its order once it stops', async () => {
  const { identity, voiceId } = await previewVoice(bot.runtime, 'ada');
  const [home, next] = rankNodes(
    voiceId,
    [...nodes.keys()].map((nodeId) => ({ nodeId })),
  ).map((n) => n.nodeId);
  const before = served();
  for (let i = 0; i < 8; i++) await speakAll(identity);
  const after = served();
  assert.equal(after[home!]! - before[home!]!, 8, `all eight on ${home}`);
  assert.equal(after[next!], before[next!], `none on ${next}`);

  // A clean stop deregisters at once: the next /speak goes to the voice's second node without waiting for the TTL.
  await nodes.get(home!)!.stop();
  nodes.delete(home!);
  await speakAll(identity);
  assert.equal(nodes.get(next!)!.server.servedStreams - after[next!]!, 1);
});

test('a node registered but not answering (cut off from the bots, not from Redis) costs one request its answer timeout, then is passed over', async () => {
  const { identity, voiceId } = await previewVoice(bot.runtime, 'bea');
  // A TCP server that accepts and never answers, registered under an id that ranks first for this voice.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const live = [...nodes.keys()];
  let id = 0;
  while (
    rankNodes(
      voiceId,
      [...live, `silent-${id}`].map((nodeId) => ({ nodeId })),
    )[0]!.nodeId !== `silent-${id}`
  )
    id++;
  const redisClient = createRedisConnection(redis.url, 'producer');
  await redisClient.hset(nodeKey(`silent-${id}`), { address: `127.0.0.1:${port}`, startedAt: '1' });
  await redisClient.pexpire(nodeKey(`silent-${id}`), 60_000);
  // Bots re-read the directory at most once a second: let this bot see the new entry.
  await sleep(1100);
  try {
    const timed = async () => {
      const started = performance.now();
      await speakAll(identity);
      return performance.now() - started;
    };
    const first = await timed();
    assert.ok(first >= 2900, `the first request waited for the silent node's answer (${first.toFixed(0)} ms)`);
    const second = await timed();
    assert.ok(second < 1000, `the second did not wait on it again (${second.toFixed(0)} ms)`);
  } finally {
    await redisClient.del(nodeKey(`silent-${id}`));
    await redisClient.quit();
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
