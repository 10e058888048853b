import type { SqlDatabase, SqlRow, SqlStatement, SqlValue } from '../sql-database.ts';
import { numberPlaceholders } from './placeholders.ts';
import { SyncBridge } from './sync-bridge.ts';

export interface PostgresOptions {
  /** PostgreSQL's statement_timeout; default 5 s. */
  readonly statementTimeoutMs?: number;
  /** How long a caller blocks for an answer before the database counts as unavailable; default statement timeout + 2 s. */
  readonly answerTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * Keys for pg_advisory_lock: one for writers (every transaction takes it, so transactions
 * serialise as SQLite's BEGIN IMMEDIATE ones do and the ledger's hash chain stays one chain),
 * one for migrations. Arbitrary constants, fixed forever.
 */
const WRITE_LOCK = 0x766f_6301;
const SCHEMA_LOCK = 0x766f_6302;

/** Tables whose deleted rows are secrets (crypto-shredded keys): rewritten, not just vacuumed. */
const SECRET_TABLES: ReadonlySet<string> = new Set(['data_keys']);

/**
 * State in PostgreSQL behind the synchronous `SqlDatabase` interface: one connection, owned by
 * a worker thread, that the caller blocks on (SyncBridge).
 */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres';
  readonly #bridge: SyncBridge;
  #open = true;
  /** How deep the caller is in `transaction` calls, and on which connection the outer one began. */
  #depth = 0;
  #transactionGeneration = -1;
  #afterCommit: Array<() => void> = [];

  constructor(url: string, options: PostgresOptions = {}) {
    const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
    this.#bridge = new SyncBridge({
      url,
      statementTimeoutMs,
      answerTimeoutMs: options.answerTimeoutMs ?? statementTimeoutMs + 2000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    });
    // Connect now, so a wrong URL or a server that is down fails at start-up, not at the first request.
    this.#bridge.call({ kind: 'exec', sql: 'SELECT 1' });
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get isTransaction(): boolean {
    return this.#depth > 0;
  }

  prepare(sql: string): SqlStatement {
    return new PostgresStatement(this, numberPlaceholders(sql));
  }

  exec(sql: string): void {
    this.#requireOpen();
    this.#bridge.call({ kind: 'exec', sql });
  }

  /** Runs a statement with numbered placeholders (`$1`), as PostgresStatement has translated them. */
  query(sql: string, params: readonly SqlValue[]): { rows: SqlRow[]; changes: number } {
    this.#requireOpen();
    return this.#bridge.call({ kind: 'query', sql, params });
  }

  transaction<T>(work: () => T): T {
    if (this.#depth > 0) return this.#nested(work);
    this.exec('BEGIN');
    this.#transactionGeneration = this.#bridge.generation;
    this.#depth = 1;
    let result: T;
    try {
      this.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      result = work();
      this.#depth = 0;
      this.exec('COMMIT');
    } catch (error) {
      this.#depth = 0;
      this.#afterCommit = [];
      // When the connection the transaction began on is gone, the server has rolled it back.
      if (this.#bridge.generation === this.#transactionGeneration) {
        try {
          this.exec('ROLLBACK');
        } catch {
          // The first error says what went wrong; a failed rollback ends the connection anyway.
        }
      }
      throw error;
    }
    for (const callback of this.#afterCommit.splice(0)) callback();
    return result;
  }

  afterCommit(callback: () => void): void {
    if (this.#depth > 0) this.#afterCommit.push(callback);
    else callback();
  }

  #nested<T>(work: () => T): T {
    this.#depth += 1;
    try {
      return work();
    } finally {
      this.#depth -= 1;
    }
  }

  /** A session advisory lock: a second process starting at the same moment waits, then finds the schema migrated. */
  withSchemaLock<T>(work: () => T): T {
    this.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    try {
      return work();
    } finally {
      this.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
    }
  }

  /**
   * PostgreSQL keeps a deleted row's old version in its page until VACUUM removes it, and even
   * then its bytes can stay in the page's free space until something overwrites them. So the
   * table that holds wrapped data keys is rewritten (VACUUM FULL: a new file without the dead
   * rows; small, one row per user); the others get a plain VACUUM. What remains beyond the table
   * files (WAL, replicas, backups) is described in docs/deployment/postgresql.md.
   */
  reclaimDeleted(tables: readonly string[]): void {
    for (const table of tables) {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      this.exec(SECRET_TABLES.has(table) ? `VACUUM FULL ${table}` : `VACUUM ${table}`);
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#bridge.reset();
  }

  #requireOpen(): void {
    if (!this.#open) throw new Error('the database is closed');
  }
}

class PostgresStatement implements SqlStatement {
  readonly #db: PostgresDatabase;
  readonly #sql: string;

  constructor(db: PostgresDatabase, sql: string) {
    this.#db = db;
    this.#sql = sql;
  }

  run(...params: SqlValue[]): { changes: number } {
    return { changes: this.#db.query(this.#sql, params).changes };
  }

  get(...params: SqlValue[]): SqlRow | undefined {
    return this.#db.query(this.#sql, params).rows[0];
  }

  all(...params: SqlValue[]): SqlRow[] {
    return this.#db.query(this.#sql, params).rows;
  }

  iterate(...params: SqlValue[]): IterableIterator<SqlRow> {
    return this.all(...params)[Symbol.iterator]();
  }
}

export function openPostgresDatabase(url: string, options: PostgresOptions = {}): PostgresDatabase {
  return new PostgresDatabase(url, options);
}
