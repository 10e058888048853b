import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDatabase, SqlRow, SqlStatement, SqlValue } from './sql-database.ts';

/**
 * The embedded default: one SQLite file in the data directory, opened with the settings every
 * process shares: WAL so the service, the worker and the CLI can use it at once; secure_delete
 * so shredded keys and deleted rows are zeroed in place, not left in free pages.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite';
  readonly #db: DatabaseSync;
  #afterCommit: Array<() => void> = [];

  constructor(file: string) {
    this.#db = new DatabaseSync(file, { timeout: 5000 });
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec('PRAGMA foreign_keys = ON');
    this.#db.exec('PRAGMA secure_delete = ON');
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  get isTransaction(): boolean {
    return this.#db.isTransaction;
  }

  prepare(sql: string): SqlStatement {
    return new SqliteStatement(this.#db.prepare(sql));
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** IMMEDIATE: taking the write lock up front avoids upgrade deadlocks between processes. */
  transaction<T>(work: () => T): T {
    if (this.#db.isTransaction) return work();
    this.#db.exec('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = work();
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#afterCommit = [];
      this.#db.exec('ROLLBACK');
      throw error;
    }
    for (const callback of this.#afterCommit.splice(0)) callback();
    return result;
  }

  afterCommit(callback: () => void): void {
    if (this.#db.isTransaction) this.#afterCommit.push(callback);
    else callback();
  }

  /** SQLite serialises writers itself; each migration is one IMMEDIATE transaction. */
  withSchemaLock<T>(work: () => T): T {
    return work();
  }

  /** secure_delete zeroed the rows in the pages; TRUNCATE folds the WAL (with its copies) back and empties it. */
  reclaimDeleted(_tables: readonly string[]): void {
    this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.#db.close();
  }
}

class SqliteStatement implements SqlStatement {
  readonly #statement: StatementSync;

  constructor(statement: StatementSync) {
    this.#statement = statement;
  }

  run(...params: SqlValue[]): { changes: number } {
    return { changes: Number(this.#statement.run(...params).changes) };
  }

  get(...params: SqlValue[]): SqlRow | undefined {
    return this.#statement.get(...params);
  }

  all(...params: SqlValue[]): SqlRow[] {
    return this.#statement.all(...params);
  }

  iterate(...params: SqlValue[]): IterableIterator<SqlRow> {
    return this.#statement.iterate(...params);
  }
}
