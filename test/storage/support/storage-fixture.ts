import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataKeyStore } from '../../../src/storage/data-keys.ts';
import { MasterKey } from '../../../src/storage/master-key.ts';
import { PostgresDatabase } from '../../../src/storage/postgres/postgres-database.ts';
import type { SqlDatabase } from '../../../src/storage/sql-database.ts';
import { SqliteDatabase } from '../../../src/storage/sqlite-database.ts';
import { freshPostgresUrl, TEST_DIALECT } from '../../support/test-database.ts';

/** Exactly the lead's DDL for the table, so the store is tested against the real shape. */
export const DATA_KEYS_DDL = 'CREATE TABLE data_keys (user_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL)';

/** PostgreSQL's spelling of the same table (src/storage/migrations.ts). */
export const DATA_KEYS_DDL_POSTGRES = 'CREATE TABLE data_keys (user_id TEXT PRIMARY KEY, wrapped BYTEA NOT NULL, created_at TEXT NOT NULL)';

export function keyStore(master = new MasterKey(randomBytes(32))): { db: SqlDatabase; store: DataKeyStore; master: MasterKey } {
  const db: SqlDatabase = TEST_DIALECT === 'postgres' ? new PostgresDatabase(freshPostgresUrl()) : new SqliteDatabase(':memory:');
  db.exec(TEST_DIALECT === 'postgres' ? DATA_KEYS_DDL_POSTGRES : DATA_KEYS_DDL);
  return { db, store: new DataKeyStore(db, master), master };
}

/** A fresh temp folder, removed by the returned dispose function. */
export async function tempDir(prefix = 'vocalis-storage-'): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/** Recognisable, non-repeating bytes: a counter pattern that is easy to search for. */
export function patternBytes(length: number, seed = 0): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) {
    const word = Buffer.alloc(4);
    word.writeUInt32BE((i / 4 + seed) >>> 0);
    word.copy(out, i, 0, Math.min(4, length - i));
  }
  return out;
}

export async function* inPieces(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let i = 0;
  while (offset < data.byteLength) {
    const size = sizes[i % sizes.length] ?? 1;
    yield data.subarray(offset, offset + size);
    offset += size;
    i += 1;
  }
}
