import { test } from 'vitest';
import assert from 'node:assert/strict';
import { PostgresDatabase } from '../../../src/storage/postgres/postgres-database.ts';
import { startTestRedis } from '../../support/redis-server.ts';
import { startRuntime } from '../../support/runtime-fixture.ts';
import { runNode } from '../../support/spawn-node.ts';
import { freshPostgresUrl } from '../../support/test-database.ts';

/**
 * On PostgreSQL the gate's per-chunk check answers from the ticket's last reading, so a
 * revocation in another process must reach it through Redis (`vocalis:consent-changes`). Here
 * the ticket has no watch timer at all: only the announcement can stop it. The other process
 * is the operator CLI on the same PostgreSQL database (which also verifies the ledger there).
 */
test('a revocation by the CLI in another process reaches a held ticket through Redis well within a second', async (t) => {
  const redis = await startTestRedis();
  const url = freshPostgresUrl();
  const fixture = await startRuntime({ env: { DATABASE_URL: url, REDIS_URL: redis.url }, needs: { queue: false } });
  const observer = new PostgresDatabase(url);
  const cliEnv = {
    VOCALIS_DATA_DIR: fixture.dataDir,
    VOCALIS_MASTER_KEY: fixture.masterKey,
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    VOCALIS_LOG_LEVEL: 'silent',
    VOCALIS_CONSENT_VERIFICATION: 'off',
  };
  const vocalis = (...args: string[]) => runNode(['src/cli/main.ts', ...args], cliEnv);
  let poll: NodeJS.Timeout | undefined;
  try {
    const { vocalis: core, gate, users } = fixture.runtime;
    const identity = { platform: 'cli', platformUserId: 'alice' };
    const offer = core.offerConsent({ identity, language: 'en', context: { platform: 'cli', contextId: '*' } });
    core.acceptConsent({ identity, consentId: offer.consent.id });
    const userId = users.find('cli', 'alice')!.id;
    const ticket = gate.authorize({ purpose: 'record', userId });
    ticket.check();

    const verified = await vocalis('audit', 'verify', '--json');
    assert.equal(verified.code, 0, verified.stderr);

    let committedAt: number | null = null;
    let abortedAt: number | null = null;
    ticket.signal.addEventListener('abort', () => (abortedAt = performance.now()));
    poll = setInterval(() => {
      if (committedAt === null && observer.prepare('SELECT state FROM consents WHERE id = ?').get(offer.consent.id)?.['state'] !== 'granted') {
        committedAt = performance.now();
      }
    }, 5);
    const revoke = await vocalis('consent', 'revoke', '--user', 'alice', '--json');
    assert.equal(revoke.code, 0, revoke.stderr);
    const deadline = performance.now() + 3000;
    while ((abortedAt === null || committedAt === null) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.notEqual(committedAt, null, 'the revocation was committed');
    assert.notEqual(abortedAt, null, 'the held ticket was aborted, with no timer of its own: by the announcement through Redis');
    const delay = abortedAt! - committedAt!;
    assert.ok(delay < 500, `the ticket stopped ${delay.toFixed(0)} ms after the commit was visible`);
    await t.annotate(`held ticket aborted ${delay.toFixed(0)} ms after the revocation's commit was visible (5 ms polling)`);
    assert.throws(() => ticket.check(), { code: 'no_consent' });

    // The CLI's audit verify on PostgreSQL names a tampered event.
    observer.prepare("UPDATE audit_events SET actor = 'operator' WHERE seq = 2").run();
    const tampered = await vocalis('audit', 'verify', '--json');
    assert.equal(tampered.code, 1);
    assert.equal((JSON.parse(tampered.stdout) as { firstBadSeq: number }).firstBadSeq, 2);
  } finally {
    clearInterval(poll);
    observer.close();
    await fixture.close();
    await redis.cleanup();
  }
});
