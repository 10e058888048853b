import { newId, type Clock } from './ids.ts';
import type { SqlDatabase } from './sql-database.ts';

/** A person on one platform. Vocalis knows them by an internal id only. */
export interface UserRef {
  readonly id: string;
  readonly platform: string;
  readonly platformUserId: string;
}

export class UserDirectory {
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Finds or creates the user for a platform identity. */
  resolve(platform: string, platformUserId: string): UserRef {
    const found = this.find(platform, platformUserId);
    if (found) return found;
    const id = newId('u');
    this.#db
      .prepare('INSERT INTO users (id, platform, platform_user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(id, platform, platformUserId, this.#clock().toISOString());
    const user = this.find(platform, platformUserId);
    if (!user) throw new Error('user could not be created');
    return user;
  }

  find(platform: string, platformUserId: string): UserRef | null {
    const row = this.#db.prepare('SELECT id, platform, platform_user_id FROM users WHERE platform = ? AND platform_user_id = ?').get(platform, platformUserId);
    return row ? { id: String(row['id']), platform: String(row['platform']), platformUserId: String(row['platform_user_id']) } : null;
  }

  get(id: string): UserRef | null {
    const row = this.#db.prepare('SELECT id, platform, platform_user_id FROM users WHERE id = ?').get(id);
    return row ? { id: String(row['id']), platform: String(row['platform']), platformUserId: String(row['platform_user_id']) } : null;
  }
}
