import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { AuditLedger } from '../../../src/consent/ledger.ts';
import { openDatabase } from '../../../src/storage/database.ts';
import { runNode } from '../../support/spawn-node.ts';
import { freshPostgresUrl } from '../../support/test-database.ts';

/**
 * Two processes (two bots, or a bot and the CLI, on different hosts) append to one ledger in
 * PostgreSQL at the same time. The chain must stay one chain: every event follows the one
 * before it, no number twice, none lost, and the anchor seals the last.
 */
test('two processes appending at once leave one unbroken hash chain', async () => {
  const url = freshPostgresUrl();
  // Migrated by both children at once too: the schema lock lets one migrate and the other wait.
  const perProcess = 150;
  const [a, b] = await Promise.all([
    runNode(['test/storage/postgres/support/append-ledger.ts', url, 'process-a', String(perProcess)], {}),
    runNode(['test/storage/postgres/support/append-ledger.ts', url, 'process-b', String(perProcess)], {}),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);

  const db = openDatabase({ kind: 'postgres', url });
  try {
    const ledger = new AuditLedger(db, { seal: (message) => createHmac('sha256', 'test-ledger-key').update(message).digest('hex') });
    assert.deepEqual(ledger.verify(), { ok: true, events: 2 * perProcess });
    const actors = ledger.events().map((e) => e.actor);
    const switches = actors.filter((actor, i) => i > 0 && actor !== actors[i - 1]).length;
    assert.ok(switches > 2, `the two processes' appends interleaved (${switches} switches), so they really ran at once`);
  } finally {
    db.close();
  }
});
