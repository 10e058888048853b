import { test } from 'vitest';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/storage/database.ts';
import { MIGRATIONS } from '../../../src/storage/migrations.ts';
import { runNode } from '../../support/spawn-node.ts';
import { freshPostgresUrl } from '../../support/test-database.ts';

/**
 * Several hosts start at once against an empty database: exactly one of them migrates, the others
 * wait for it (an advisory lock) and find the schema up to date. None fails on a table that
 * another one created a moment earlier.
 */
test('four processes opening an empty database at the same moment migrate it once', async () => {
  const url = freshPostgresUrl();
  const at = String(Date.now() + 4000);
  const runs = await Promise.all([1, 2, 3, 4].map(() => runNode(['test/storage/postgres/support/open-at.ts', url, at], {})));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const db = openDatabase({ kind: 'postgres', url });
  try {
    const versions = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((row) => Number(row['version']));
    assert.deepEqual(
      versions,
      MIGRATIONS.map((m) => m.version),
    );
  } finally {
    db.close();
  }
});
