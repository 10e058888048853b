import { MIGRATIONS, type Migration } from './migrations.ts';
import { openPostgresDatabase, type PostgresOptions } from './postgres/postgres-database.ts';
import type { SqlDatabase } from './sql-database.ts';
import { SqliteDatabase } from './sqlite-database.ts';

/** Where the state lives: a SQLite file in the data directory, or a PostgreSQL database (`DATABASE_URL`). */
export type DatabaseLocation = { readonly kind: 'sqlite'; readonly file: string } | ({ readonly kind: 'postgres'; readonly url: string } & PostgresOptions);

/** Opens the state database and brings its schema up to date. A plain string is a SQLite file. */
export function openDatabase(location: string | DatabaseLocation, migrations: readonly Migration[] = MIGRATIONS): SqlDatabase {
  const where: DatabaseLocation = typeof location === 'string' ? { kind: 'sqlite', file: location } : location;
  const db = where.kind === 'sqlite' ? new SqliteDatabase(where.file) : openPostgresDatabase(where.url, where);
  try {
    migrate(db, migrations);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Applies the migrations this database lacks, each in its own transaction, one process at a time. */
export function migrate(db: SqlDatabase, migrations: readonly Migration[]): void {
  db.withSchemaLock(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set(
      db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((row) => Number(row['version'])),
    );
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      db.transaction(() => {
        db.exec(db.dialect === 'sqlite' ? migration.sql : migration.postgres);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          migration.version,
          migration.name,
          new Date().toISOString(),
        );
      });
    }
  });
}

/** Runs `work` in one transaction (see `SqlDatabase.transaction`); inside one, it joins it. */
export function transaction<T>(db: SqlDatabase, work: () => T): T {
  return db.transaction(work);
}
