import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { openDatabase } from '../../src/storage/database.ts';
import type { Migration } from '../../src/storage/migrations.ts';
import { PostgresDatabase } from '../../src/storage/postgres/postgres-database.ts';
import type { SqlDatabase, SqlDialect } from '../../src/storage/sql-database.ts';
import { SqliteDatabase } from '../../src/storage/sqlite-database.ts';

/**
 * Which database the storage and consent tests run against. `npm test` runs them twice
 * (vitest.config.ts: the `postgres` project sets VOCALIS_TEST_DATABASE=postgres and starts one
 * real PostgreSQL server for the run, test/support/postgres-global-setup.ts).
 */
export const TEST_DIALECT: SqlDialect = process.env['VOCALIS_TEST_DATABASE'] === 'postgres' ? 'postgres' : 'sqlite';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The suite's PostgreSQL server (its first database), when the postgres project runs. */
    postgresUrl: string;
  }
}

let admin: PostgresDatabase | null = null;

/** A fresh, empty database on the suite's PostgreSQL server; its URL. */
export function freshPostgresUrl(): string {
  const serverUrl = inject('postgresUrl');
  if (!serverUrl) throw new Error('no PostgreSQL server: run this file in the `postgres` vitest project');
  admin ??= new PostgresDatabase(serverUrl);
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  admin.exec(`CREATE DATABASE ${name}`);
  return serverUrl.replace(/\/[^/]+$/, `/${name}`);
}

export interface TestDatabase {
  readonly db: SqlDatabase;
  /** A second connection to the same database, as another process would have. */
  connectAgain(): SqlDatabase;
}

/** A fresh, migrated state database of the dialect under test (SQLite: a file in `dir`). */
export function openTestDatabase(dir: string, migrations?: readonly Migration[]): TestDatabase {
  if (TEST_DIALECT === 'postgres') {
    const url = freshPostgresUrl();
    return { db: openDatabase({ kind: 'postgres', url }, migrations), connectAgain: () => new PostgresDatabase(url) };
  }
  const file = join(dir, 'vocalis.db');
  return { db: openDatabase(file, migrations), connectAgain: () => new SqliteDatabase(file) };
}
