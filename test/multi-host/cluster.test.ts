import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { makeUser } from '../fakes/telegram/index.ts';
import { waitForText } from '../bots/telegram/harness.ts';
import { fileMentions, filesUnder, redisMentions } from '../support/leftovers.ts';
import { ENGINE_ROLES, type EngineRole, type MultiHostCluster, startCluster } from '../support/multi-host-cluster.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { cloneOverTelegram, speak, words } from './telegram-user.ts';

/**
 * Vocalis across hosts (issue 19), each host a network namespace of this machine: the services
 * (Redis, PostgreSQL, the object store), a bot host (Telegram adapter, VOCALIS_ENGINE=remote),
 * two engine hosts and a fine-tune worker host, each with its own data directory. The tests run
 * in order on one deployment: Alice clones her voice (the worker host fine-tunes it) and speaks;
 * the engine host streaming her voice is parted from the bot mid-utterance; Bob clones and
 * revokes while his voice is speaking; nothing of his is left; last, the engine host streaming
 * Alice's voice is cut off the network mid-utterance.
 */
const WORD_MS = 150;
/** The bot's client gives up on a node after this silence (RemoteSpeech's idle timeout). */
const CLIENT_IDLE_MS = 5000;

describe('Vocalis on five hosts', () => {
  let cluster: MultiHostCluster;
  const alice = makeUser(300_001, { username: 'alice' });
  const bob = makeUser(300_002, { username: 'bob' });

  beforeAll(async () => {
    cluster = await startCluster({ wordMs: WORD_MS });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  const userId = async (user: { id: number }) =>
    (await cluster.services.sql<{ id: string }>("SELECT id FROM users WHERE platform = 'telegram' AND platform_user_id = $1", [String(user.id)]))[0]?.id ?? '';
  const voiceOf = async (uid: string) =>
    (
      await cluster.services.sql<{ id: string; state: string; current_version: string | null }>(
        'SELECT id, state, current_version FROM voices WHERE user_id = $1',
        [uid],
      )
    )[0];
  const objectKeys = async () => {
    const listing = await cluster.services.s3().send(new ListObjectsV2Command({ Bucket: cluster.services.bucket }));
    return (listing.Contents ?? []).map((o) => o.Key ?? '');
  };
  const enginesThatSynthesised = (since: Map<EngineRole, number>) =>
    ENGINE_ROLES.filter((role) => cluster.synthesisEvents(cluster.engines[role]).filter((e) => e.phase === 'start').length > (since.get(role) ?? 0));
  const startsSoFar = () =>
    new Map(ENGINE_ROLES.map((role) => [role, cluster.synthesisEvents(cluster.engines[role]).filter((e) => e.phase === 'start').length]));
  const nextVoiceNote = (chat: number) => {
    const before = cluster.telegram.sentVoices(chat).length;
    return cluster.telegram.waitForCall('sendVoice', (c) => c.params.chat_id === chat && cluster.telegram.sentVoices(chat).length > before, 30_000);
  };

  test('a worker on another host fine-tunes with no shared disk: samples from and models to the object store', async () => {
    await cloneOverTelegram(cluster.telegram, alice, '3331');
    const aliceId = await userId(alice);
    const voice = await voiceOf(aliceId);
    assert.ok(voice, 'the voice is in PostgreSQL');
    assert.equal(voice.state, 'ready');
    const versions = await cluster.services.sql<{ version: string; kind: string }>(
      'SELECT version, kind FROM voice_versions WHERE voice_id = $1 ORDER BY version',
      [voice.id],
    );
    assert.ok(
      versions.some((v) => v.kind === 'finetuned'),
      `a fine-tuned version was published: ${JSON.stringify(versions)}`,
    );
    const jobs = await cluster.services.sql<{ state: string }>('SELECT state FROM jobs WHERE voice_id = $1', [voice.id]);
    assert.deepEqual(
      jobs.map((j) => j.state),
      ['completed'],
    );
    // The worker host ran it (it logs the completion after publishing the version).
    await cluster.worker.waitForLine((line) => line.includes('"msg":"fine-tune completed"') && line.includes(voice.id), 15_000);

    const keys = await objectKeys();
    const finetuned = versions.find((v) => v.kind === 'finetuned')!.version;
    assert.ok(
      keys.some((k) => k.startsWith(`users/${aliceId}/samples/`)),
      `the sample clip is in the object store: ${keys.join(', ')}`,
    );
    assert.ok(
      keys.some((k) => k.startsWith(`users/${aliceId}/voices/${voice.id}/v${finetuned}/`)),
      `the fine-tuned model is in the object store: ${keys.join(', ')}`,
    );
    // No host keeps a file of hers: each data directory holds at most its own scratch and keys.
    for (const [role, dir] of Object.entries(cluster.dataDirs)) {
      const files = await filesUnder(dir);
      assert.deepEqual(
        files.filter((f) => f.includes(aliceId) || f.includes(voice.id)),
        [],
        `${role} keeps no file of the voice`,
      );
    }
  });

  test('/speak on the bot host is served by an engine node on another host', async () => {
    const before = startsSoFar();
    const chat = speak(cluster.telegram, alice, words(6));
    await nextVoiceNote(chat);
    const voice = cluster.telegram.sentVoices(chat).at(-1)!;
    assert.equal(voice.caption, 'AI voice of @alice');
    assert.equal(enginesThatSynthesised(before).length, 1, 'one engine node synthesised it');
    assert.deepEqual(cluster.synthesisEvents(cluster.bot), [], 'the bot host synthesised nothing itself');
    assert.ok(cluster.synthesisEvents(cluster.engines[enginesThatSynthesised(before)[0]!]).some((e) => e.phase === 'end'));
    // The engine host read her model from the object store: no host, the bot's or the engines', has a file of hers.
    const aliceId = await userId(alice);
    for (const [role, dir] of Object.entries(cluster.dataDirs)) {
      assert.deepEqual(
        (await filesUnder(dir)).filter((f) => f.includes(aliceId)),
        [],
        `${role} keeps no file of hers`,
      );
    }
  });

  /**
   * Alice's long /speak streams from the engine host her voice's affinity picks; `lose` takes that
   * host away mid-utterance. She must be told, get no truncated note, and her next /speak (sent
   * while the host is still lost) must be served by the other engine host.
   */
  async function loseTheHolderMidUtterance(lose: (holder: EngineRole) => Promise<void>) {
    const before = startsSoFar();
    const notesBefore = cluster.telegram.sentVoices(alice.id).length;
    const chat = speak(cluster.telegram, alice, words(40));
    const holder = await waitFor(() => ENGINE_ROLES.find((role) => wordsSince(role, before) >= 2), 30_000, 'an engine node streaming');
    const other = ENGINE_ROLES.find((role) => role !== holder)!;
    const lostAt = Date.now();
    await lose(holder);
    const told = await waitForText(cluster.telegram, chat, /voice server went away mid-sentence/, CLIENT_IDLE_MS + 10_000);
    const toldAfterMs = Date.now() - lostAt;
    assert.ok(told.response?.ok);
    assert.equal(cluster.telegram.sentVoices(chat).length, notesBefore, 'no truncated voice note was sent');

    const next = startsSoFar();
    const askedAt = Date.now();
    await nextVoiceNote(speak(cluster.telegram, alice, words(4)));
    assert.deepEqual(enginesThatSynthesised(next), [other], `the next /speak was served by ${other}`);
    return { holder, other, toldAfterMs, nextServedMs: Date.now() - askedAt };
  }

  /** When the bot's client last saw a node fail: it passes that node over for 15 s (NodeDirectory). */
  let lastNodeFailureAt = 0;
  const CLIENT_PASSES_OVER_MS = 15_000;

  test('an engine host the bot can no longer hear, though it still heartbeats, is passed over: a clear message, then the other node', async (t) => {
    // Still registered (its heartbeat reaches Redis): only the client's own memory of the failure can send the next /speak elsewhere.
    const outcome = await loseTheHolderMidUtterance((holder) => cluster.lan.partition('bot', holder)).finally(async () => {
      lastNodeFailureAt = Date.now();
      await cluster.lan.heal();
    });
    assert.equal(await cluster.services.redis().exists(`vocalis:engine:node:${outcome.holder}`), 1, 'the parted node was registered all along');
    await t.annotate(
      `bot parted from ${outcome.holder} mid-utterance: told after ${outcome.toldAfterMs} ms; ${outcome.other} served the next /speak in ${outcome.nextServedMs} ms`,
    );
  });

  function wordsSince(role: EngineRole, before: Map<EngineRole, number>): number {
    const events = cluster.synthesisEvents(cluster.engines[role]);
    let starts = 0;
    let words = 0;
    for (const event of events) {
      if (event.phase === 'start') {
        starts++;
        words = 0;
      } else if (event.phase === 'word') words = event.words ?? 0;
    }
    return starts > (before.get(role) ?? 0) ? words : 0;
  }

  let bobIds: { userId: string; voiceId: string; consentId: string; clipIds: string[]; wrappedHex: string; jobIds: string[] };

  test('a revocation on the bot host stops the stream on the engine host within a second', async (t) => {
    await cloneOverTelegram(cluster.telegram, bob, '1688');
    const uid = await userId(bob);
    const voice = (await voiceOf(uid))!;
    const consentId = (await cluster.services.sql<{ id: string }>('SELECT id FROM consents WHERE user_id = $1', [uid]))[0]!.id;
    const clipIds = (await cluster.services.sql<{ id: string }>('SELECT id FROM sample_clips WHERE user_id = $1', [uid])).map((r) => r.id);
    const wrappedHex = (await cluster.services.sql<{ hex: string }>("SELECT encode(wrapped, 'hex') AS hex FROM data_keys WHERE user_id = $1", [uid]))[0]!.hex;
    const jobIds = (await cluster.services.sql<{ id: string }>('SELECT id FROM jobs WHERE voice_id = $1', [voice.id])).map((r) => r.id);
    bobIds = { userId: uid, voiceId: voice.id, consentId, clipIds, wrappedHex, jobIds };
    // Before: the scans of the next test see what they look for, so their silence then means something.
    assert.ok(clipIds.length > 0 && wrappedHex.length > 0 && jobIds.length > 0);
    assert.ok((await objectKeys()).some((k) => k.startsWith(`users/${uid}/voices/${voice.id}/`)));
    assert.notDeepEqual(redisMentions(await dumpRedis(cluster.services.redis()), [uid, voice.id]), [], 'Redis holds his job before');
    assert.notDeepEqual(await fileMentions(await filesUnder(cluster.services.redisDir), [voice.id]), [], "Redis' AOF holds his ids before");

    const before = startsSoFar();
    speak(cluster.telegram, bob, words(100));
    const engine = await waitFor(() => ENGINE_ROLES.find((role) => wordsSince(role, before) >= 2), 30_000, 'an engine node streaming his voice');
    // The operator revokes on the bot host (its CLI, with the bot host's configuration).
    const revoked = await cluster.cli('bot', ['consent', 'revoke', '--platform', 'telegram', '--user', String(bob.id)]);
    assert.equal(revoked.code, 0, revoked.output);
    const stop = await waitFor(
      () => cluster.synthesisEvents(cluster.engines[engine]).findLast((e) => e.phase === 'stop' || e.phase === 'end'),
      15_000,
      'the stream to stop',
    );
    assert.equal(stop.phase, 'stop', 'the stream was stopped, not finished');
    const committed = await cluster.services.sql<{ at: string }>("SELECT at FROM audit_events WHERE type = 'consent.revoked' AND subject = $1", [uid]);
    assert.equal(committed.length, 1);
    const reachMs = stop.at - Date.parse(committed[0]!.at);
    await t.annotate(`revocation reach (ledger commit on the bot host → synthesis stopped on ${engine}): ${reachMs} ms`);
    assert.ok(reachMs >= 0 && reachMs <= 1000, `the engine host stopped ${reachMs} ms after the revocation`);
  });

  test('nothing of the revoked voice is left in PostgreSQL, the object store or Redis', async () => {
    const { userId: uid, voiceId, clipIds, wrappedHex, jobIds } = bobIds;
    const aliceId = await userId(alice);
    const count = async (sql: string, value: string) => Number((await cluster.services.sql<{ n: string }>(sql, [value]))[0]?.n);
    // PostgreSQL: his key, clips and versions are gone (hers, the control, are there).
    for (const [sql, value, control] of [
      ['SELECT COUNT(*) AS n FROM data_keys WHERE user_id = $1', uid, aliceId],
      ['SELECT COUNT(*) AS n FROM sample_clips WHERE user_id = $1', uid, aliceId],
      ['SELECT COUNT(*) AS n FROM voice_versions WHERE voice_id IN (SELECT id FROM voices WHERE user_id = $1)', uid, aliceId],
      ['SELECT COUNT(*) AS n FROM utterance_marks WHERE user_id = $1', uid, aliceId],
    ] as const) {
      assert.equal(await count(sql, value), 0, `${sql} for the revoked user`);
      if (!sql.includes('utterance_marks')) assert.ok((await count(sql, control)) > 0, `${sql} for the control user`);
    }
    assert.equal((await voiceOf(uid))?.current_version, null);
    // Every row of every table, as text: no copy of his wrapped key anywhere, no clip of his
    // outside the ledger (which records what happened by id, hash-chained, by design).
    const tables = await cluster.services.sql<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'");
    const rowsMentioning: string[] = [];
    for (const { name } of tables) {
      for (const needle of name === 'audit_events' ? [wrappedHex] : [wrappedHex, ...clipIds]) {
        // A row as text shows bytea as hex, so the wrapped key's hex is found in it too.
        const rows = await cluster.services.sql<{ n: string }>(`SELECT COUNT(*) AS n FROM "${name}" t WHERE strpos(t::text, $1) > 0`, [needle]);
        if (Number(rows[0]?.n) > 0) rowsMentioning.push(`${name} mentions ${needle.slice(0, 16)}`);
      }
    }
    assert.deepEqual(rowsMentioning, []);

    // The object store: nothing under his prefix, nothing naming his voice; hers is still there.
    const keys = await objectKeys();
    assert.deepEqual(
      keys.filter((k) => k.includes(uid) || k.includes(voiceId)),
      [],
    );
    assert.ok(keys.some((k) => k.startsWith(`users/${aliceId}/`)));

    // Redis: no key of any type, and no AOF file, holds an id of his.
    const needles = [uid, voiceId, ...jobIds];
    assert.deepEqual(redisMentions(await dumpRedis(cluster.services.redis()), needles), []);
    assert.deepEqual(await fileMentions(await filesUnder(cluster.services.redisDir), needles), []);
  });
  test('the engine host holding the voice is cut off mid-utterance: a clear message, and the next /speak is served by the other node', async (t) => {
    // The node parted earlier must be back in the client's choice, or no node would be left.
    await sleep(Math.max(0, lastNodeFailureAt + CLIENT_PASSES_OVER_MS + 500 - Date.now()));
    const outcome = await loseTheHolderMidUtterance((holder) => cluster.lan.cut(holder));
    await t.annotate(
      `cut ${outcome.holder} mid-utterance: told after ${outcome.toldAfterMs} ms; ${outcome.other} served the next /speak in ${outcome.nextServedMs} ms`,
    );
  });
});

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
