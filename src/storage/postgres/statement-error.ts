/** A statement PostgreSQL refused (constraint, syntax…); unlike a StorageError, the connection is still good. */
export class PostgresStatementError extends Error {
  /** PostgreSQL's SQLSTATE code, e.g. 23505 for a unique violation. */
  readonly sqlState: string | null;
  constructor(message: string, sqlState: string | null) {
    super(message);
    this.name = 'PostgresStatementError';
    this.sqlState = sqlState;
  }
}
