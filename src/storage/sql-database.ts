/**
 * The one database interface every repository uses, whichever engine holds the state:
 * SQLite in the data directory (the embedded default) or PostgreSQL (`DATABASE_URL`).
 * Synchronous on purpose: the flows read and write state between awaits, and the PostgreSQL
 * implementation keeps that shape with a blocking bridge to a worker thread (see
 * docs/deployment/postgresql.md). SQL is written once, in the subset both engines speak, with
 * `?` placeholders.
 */

/** A value a statement binds or a row holds. Integers come back as numbers, blobs as bytes. */
export type SqlValue = null | number | bigint | string | Uint8Array;

export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  /** Runs a statement that returns no rows; how many rows it changed. */
  run(...params: SqlValue[]): { readonly changes: number };
  /** The first row, or undefined when there is none. */
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
  iterate(...params: SqlValue[]): IterableIterator<SqlRow>;
}

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlDatabase {
  readonly dialect: SqlDialect;
  readonly isOpen: boolean;
  /** Whether a transaction is open on this connection (then `transaction` joins it). */
  readonly isTransaction: boolean;
  prepare(sql: string): SqlStatement;
  /** Runs one or more statements without parameters (DDL, migrations). */
  exec(sql: string): void;
  /**
   * Runs `work` in one transaction that no other writer interleaves with (SQLite: BEGIN
   * IMMEDIATE; PostgreSQL: a transaction-wide advisory lock), committed when it returns,
   * rolled back when it throws. Inside a transaction it just runs `work`: the outer one decides.
   */
  transaction<T>(work: () => T): T;
  /**
   * Runs `callback` once the transaction open now has committed (at once when none is open);
   * never when it rolls back. For telling other processes about a change they can now read.
   */
  afterCommit(callback: () => void): void;
  /** Runs `work` while no other process migrates the same database. */
  withSchemaLock<T>(work: () => T): T;
  /**
   * After secrets were deleted (revocation): make the engine drop the old copies of deleted
   * rows where it can (SQLite: fold the WAL back into the zeroed file; PostgreSQL: VACUUM the
   * tables that held them). Outside any transaction.
   */
  reclaimDeleted(tables: readonly string[]): void;
  close(): void;
}
