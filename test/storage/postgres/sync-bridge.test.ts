import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { PostgresDatabase } from '../../../src/storage/postgres/postgres-database.ts';
import { numberPlaceholders } from '../../../src/storage/postgres/placeholders.ts';
import { StorageError } from '../../../src/storage/storage-error.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres-server.ts';

/**
 * The synchronous bridge to PostgreSQL on a server of its own (these tests stop and freeze it):
 * rows typed as SQLite's, and a clear StorageError instead of a hang when the server stops
 * answering or goes away; the next call connects again.
 */

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

test('? placeholders are numbered outside literals, identifiers and comments', () => {
  assert.equal(numberPlaceholders('SELECT ?, \'?\', "a?", ? -- ?\n, ? /* ? */'), 'SELECT $1, \'?\', "a?", $2 -- ?\n, $3 /* ? */');
  assert.equal(numberPlaceholders("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
});

test('values come back typed as SQLite returns them: integers and counts as numbers, bytea as bytes, NULL as null', async () => {
  const db = new PostgresDatabase(await server.createDatabase());
  try {
    db.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, x DOUBLE PRECISION, b BYTEA, s TEXT)');
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    assert.equal(db.prepare('INSERT INTO t (id, x, b, s) VALUES (?, ?, ?, ?)').run(2 ** 40, 1.5, bytes, "who's ?").changes, 1);
    db.prepare('INSERT INTO t (id, x, b, s) VALUES (?, ?, ?, ?)').run(7, 0, null, null);
    const row = db.prepare('SELECT * FROM t WHERE id = ?').get(2 ** 40);
    assert.ok(row);
    assert.equal(row['id'], 2 ** 40);
    assert.equal(row['x'], 1.5);
    assert.ok(row['b'] instanceof Uint8Array);
    assert.deepEqual([...row['b']], [...bytes]);
    assert.equal(row['s'], "who's ?");
    assert.equal(db.prepare('SELECT * FROM t WHERE id = ?').get(7)?.['b'], null);
    assert.equal(db.prepare('SELECT COUNT(*) AS n, SUM(id) AS total FROM t').get()?.['n'], 2);
    assert.equal(db.prepare('SELECT * FROM t WHERE id = ?').get(99), undefined);
    assert.equal(db.prepare('DELETE FROM t WHERE id > ?').run(0).changes, 2);
  } finally {
    db.close();
  }
});

test('a nested transaction joins the outer one, and a throw rolls all of it back', async () => {
  const db = new PostgresDatabase(await server.createDatabase());
  try {
    db.exec('CREATE TABLE t (id BIGINT PRIMARY KEY)');
    assert.throws(() =>
      db.transaction(() => {
        db.prepare('INSERT INTO t (id) VALUES (?)').run(1);
        db.transaction(() => db.prepare('INSERT INTO t (id) VALUES (?)').run(2));
        assert.equal(db.isTransaction, true);
        throw new Error('undo');
      }),
    );
    assert.equal(db.isTransaction, false);
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM t').get()?.['n'], 0);
    db.transaction(() => db.prepare('INSERT INTO t (id) VALUES (?)').run(3));
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM t').get()?.['n'], 1);
  } finally {
    db.close();
  }
});

test('a server that stops answering is a StorageError after the answer timeout, not a hang; the next call reconnects', async () => {
  const db = new PostgresDatabase(await server.createDatabase(), { statementTimeoutMs: 500, answerTimeoutMs: 1000, connectTimeoutMs: 1000 });
  try {
    assert.equal(db.prepare('SELECT 1 AS one').get()?.['one'], 1);
    server.pause();
    const started = performance.now();
    assert.throws(
      () => db.prepare('SELECT 1 AS one').get(),
      (error: unknown) => error instanceof StorageError && error.code === 'database_unavailable',
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 900 && waited < 6000, `gave up after ${waited.toFixed(0)} ms`);
    server.resume();
    assert.equal(db.prepare('SELECT 1 AS one').get()?.['one'], 1);
  } finally {
    server.resume();
    db.close();
  }
});

test('a statement over statement_timeout is a StorageError and the connection stays usable', async () => {
  const db = new PostgresDatabase(await server.createDatabase(), { statementTimeoutMs: 300, answerTimeoutMs: 5000 });
  try {
    const backend = db.prepare('SELECT pg_backend_pid() AS pid').get()?.['pid'];
    assert.throws(
      () => db.prepare('SELECT pg_sleep(2)').get(),
      (error: unknown) => error instanceof StorageError && error.code === 'database_unavailable',
    );
    assert.equal(db.prepare('SELECT pg_backend_pid() AS pid').get()?.['pid'], backend, 'the same connection goes on');
  } finally {
    db.close();
  }
});

test('a server that goes away is a StorageError at once; once it is back the next call reconnects', async () => {
  const db = new PostgresDatabase(await server.createDatabase(), { answerTimeoutMs: 5000, connectTimeoutMs: 1000 });
  try {
    assert.equal(db.prepare('SELECT 1 AS one').get()?.['one'], 1);
    await server.halt();
    const started = performance.now();
    assert.throws(
      () => db.prepare('SELECT 1 AS one').get(),
      (error: unknown) => error instanceof StorageError && error.code === 'database_unavailable',
    );
    assert.ok(performance.now() - started < 4000, 'a lost connection is reported without waiting for the answer timeout');
    await server.start();
    assert.equal(db.prepare('SELECT 1 AS one').get()?.['one'], 1);
  } finally {
    db.close();
  }
});
