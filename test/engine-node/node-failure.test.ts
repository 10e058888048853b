import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { VocalisError } from '../../src/core/user-facing-error.ts';
import { nodeKey } from '../../src/engine-node/node-registration.ts';
import { rankNodes } from '../../src/engine-node/rendezvous.ts';
import { renderError } from '../../src/i18n/error-messages.ts';
import { createRedisConnection } from '../../src/jobs/redis-connection.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { launchEngineNode, TEST_ENGINE_SECRET, type EngineNodeProcess } from '../support/engine-node.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { EVERYWHERE, previewVoice, words } from './voice-fixture.ts';

let redis: TestRedis;
let bot: RuntimeFixture;
const processes: EngineNodeProcess[] = [];
/** The bot's log: which node served each /speak ('engine node serving'). */
const botLog: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  redis = await startTestRedis();
  const destination = new Writable({
    write(line: Buffer, _encoding, done) {
      botLog.push(JSON.parse(line.toString()) as Record<string, unknown>);
      done();
    },
  });
  bot = await startRuntime({
    needs: { queue: false },
    env: { VOCALIS_ENGINE: 'remote', REDIS_URL: redis.url, VOCALIS_ENGINE_SECRET: TEST_ENGINE_SECRET },
    logger: createLogger({ level: 'debug', destination }),
  });
  // Two engine nodes as separate processes on this data directory, 40 ms per word.
  for (const nodeId of ['node-p', 'node-q']) {
    processes.push(launchEngineNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId, wordMs: 40 }));
  }
  await Promise.all(processes.map((p) => p.address));
}, 60_000);

afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await bot?.close();
  await redis?.cleanup();
});

const servedBy = () => botLog.filter((l) => l['msg'] === 'engine node serving').map((l) => String(l['nodeId']));

test('the node speaking is killed mid-utterance: the stream ends with engine_node_lost, and the next /speak is served by the other node', async () => {
  const { identity, voiceId } = await previewVoice(bot.runtime, 'ada');
  const [home, other] = rankNodes(voiceId, processes).map((p) => p);
  const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(100) });
  let chunks = 0;
  let killedAt = 0;
  const outcome = await (async () => {
    try {
      for await (const _ of speech.audio) {
        if (++chunks === 3) {
          home!.kill('SIGKILL');
          killedAt = performance.now();
        }
      }
      return 'finished';
    } catch (error) {
      return error;
    }
  })();
  const ms = performance.now() - killedAt;
  assert.equal(servedBy().at(-1), home!.nodeId);
  assert.ok(outcome instanceof VocalisError && outcome.code === 'engine_node_lost', `a clear error, not a shortened utterance: ${String(outcome)}`);
  assert.ok(chunks < 100, `${chunks} chunks`);
  assert.ok(ms < 2000, `the error came ${ms.toFixed(0)} ms after the kill`);
  assert.equal(renderError('en', outcome), 'The voice server went away mid-sentence. Please try again.');
  assert.equal(renderError('zh', outcome), '语音服务器在说话途中断开了，请再试一次。');
  assert.equal(bot.runtime.gate.activeTickets, 0, "the bot's ticket was released");

  // The dead node's key lives on until its TTL; the next request goes to the other node anyway, whole.
  let after = 0;
  for await (const _ of bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(5) }).audio) after++;
  assert.ok(after >= 5);
  assert.equal(servedBy().at(-1), other!.nodeId);
});

test('SIGTERM: the node leaves Redis at once, finishes the stream it is serving, and exits cleanly', async () => {
  const { identity, voiceId } = await previewVoice(bot.runtime, 'bea');
  const live = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const node = rankNodes(voiceId, live)[0]!;
  const redisClient = createRedisConnection(redis.url, 'producer');
  try {
    const speech = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(25) });
    let chunks = 0;
    let stopping: Promise<void> | undefined;
    for await (const _ of speech.audio) {
      if (++chunks === 2) {
        node.kill('SIGTERM');
        stopping = (async () => {
          const deadline = performance.now() + 2000;
          while ((await redisClient.exists(nodeKey(node.nodeId))) !== 0) {
            assert.ok(performance.now() < deadline, 'the key went within 2 s of SIGTERM');
            await sleep(20);
          }
        })();
      }
    }
    assert.ok(chunks >= 25, `the whole utterance arrived (${chunks} chunks)`);
    assert.equal(servedBy().at(-1), node.nodeId);
    await stopping;
    assert.equal(await redisClient.exists(nodeKey(node.nodeId)), 0, 'deregistered');
    const exit = await node.exited;
    assert.equal(exit.code, 0);
  } finally {
    await redisClient.quit();
  }
});

test('a node that falls silent mid-utterance (its host cut off): engine_node_lost after the idle limit, and the next /speak skips it at once', async () => {
  const fresh = ['node-r', 'node-s'].map((nodeId) =>
    launchEngineNode({ dataDir: bot.dataDir, masterKey: bot.masterKey, redisUrl: redis.url, nodeId, wordMs: 40 }),
  );
  processes.push(...fresh);
  await Promise.all(fresh.map((p) => p.address));
  const { identity, voiceId } = await previewVoice(bot.runtime, 'cy');
  const live = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const [home, other] = rankNodes(voiceId, live);
  let chunks = 0;
  let frozenAt = 0;
  const outcome = await (async () => {
    try {
      for await (const _ of bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(100) }).audio) {
        if (++chunks === 3) {
          // Stopped, not killed: its sockets stay open and say nothing, as a host cut off the network does.
          home!.kill('SIGSTOP');
          frozenAt = performance.now();
        }
      }
      return 'finished';
    } catch (error) {
      return error;
    }
  })();
  const ms = performance.now() - frozenAt;
  assert.ok(outcome instanceof VocalisError && outcome.code === 'engine_node_lost', String(outcome));
  assert.ok(ms >= 4000 && ms < 8000, `ended ${ms.toFixed(0)} ms after the node fell silent (idle limit 5 s)`);

  // Its heartbeat stopped with it: by the idle limit its key has expired or is about to, and this client passes it over meanwhile.
  const started = performance.now();
  const audio = bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(3) }).audio[Symbol.asyncIterator]();
  assert.equal((await audio.next()).done, false);
  const firstPacketMs = performance.now() - started;
  while (!(await audio.next()).done);
  assert.equal(servedBy().at(-1), other!.nodeId);
  assert.ok(firstPacketMs < 1500, `the next /speak began ${firstPacketMs.toFixed(0)} ms later (3 s would mean it waited on the silent node)`);
  home!.kill('SIGKILL');
}, 30_000);

test('SIGTERM with a stream longer than the grace period: the stream ends with engine_node_lost, not cut silently', async () => {
  const node = launchEngineNode({
    dataDir: bot.dataDir,
    masterKey: bot.masterKey,
    redisUrl: redis.url,
    nodeId: 'node-t',
    wordMs: 40,
    env: { VOCALIS_SHUTDOWN_TIMEOUT_SECONDS: '2' },
  });
  processes.push(node);
  await node.address;
  // Only this node is left alive for the voice (the others were killed, stopped or stopped themselves above).
  for (const p of processes) if (p !== node) p.kill('SIGKILL');
  const { identity } = await previewVoice(bot.runtime, 'dot');
  let chunks = 0;
  let termAt = 0;
  const outcome = await (async () => {
    try {
      for await (const _ of bot.runtime.vocalis.speak({ requester: identity, context: EVERYWHERE, text: words(100) }).audio) {
        if (++chunks === 2) {
          node.kill('SIGTERM');
          termAt = performance.now();
        }
      }
      return 'finished';
    } catch (error) {
      return error;
    }
  })();
  const ms = performance.now() - termAt;
  assert.equal(servedBy().at(-1), 'node-t');
  assert.ok(outcome instanceof VocalisError && outcome.code === 'engine_node_lost', String(outcome));
  // Half the shutdown deadline is the streams' grace.
  assert.ok(ms >= 900 && ms < 2000, `ended ${ms.toFixed(0)} ms after SIGTERM`);
  assert.equal((await node.exited).code, 0);
}, 30_000);
