import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from './ids.ts';
import type { MasterKey } from './master-key.ts';
import type { SqlDatabase } from './sql-database.ts';

/**
 * One data key per user, stored only wrapped by the master key. Destroying the row
 * is crypto-shredding: every file encrypted under that key, wherever a copy of it
 * survives, becomes unreadable.
 */

const DATA_KEY_BYTES = 32;

/**
 * A user's data key. Opaque: it never hands out its own bytes, only HKDF subkeys
 * (per-file keys), so no caller can persist or log the key itself.
 */
export class DataKey {
  readonly userId: string;
  readonly #secret: KeyObject;

  constructor(userId: string, secret: KeyObject) {
    this.userId = userId;
    this.#secret = secret;
  }

  /** HKDF-SHA256 subkey material for one purpose (`info`) and one salt. */
  derive(salt: Uint8Array, info: string, length: number): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#secret, salt, info, length));
  }

  /** Keeps the key out of logs and inspection output. */
  toJSON(): string {
    return `[DataKey ${this.userId}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `[DataKey ${this.userId}]`;
  }
}

export class DataKeyError extends Error {
  readonly userId: string;
  constructor(userId: string, message: string) {
    super(message);
    this.name = 'DataKeyError';
    this.userId = userId;
  }
}

/** Binds a wrapped key to its owner, so a row copied onto another user does not open. */
function wrapAad(userId: string): string {
  return `vocalis/data-key/v1/${userId}`;
}

export class DataKeyStore {
  readonly #db: SqlDatabase;
  readonly #master: MasterKey;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, master: MasterKey, clock: Clock = () => new Date()) {
    this.#db = db;
    this.#master = master;
    this.#clock = clock;
  }

  /** The user's key, made on first use. Safe when two processes race: the first insert wins. */
  getOrCreate(userId: string): DataKey {
    const existing = this.get(userId);
    if (existing) return existing;
    const raw = randomBytes(DATA_KEY_BYTES);
    const wrapped = this.#master.wrap(raw, wrapAad(userId));
    raw.fill(0);
    this.#db
      .prepare('INSERT INTO data_keys (user_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING')
      .run(userId, wrapped, this.#clock().toISOString());
    const stored = this.get(userId);
    if (!stored) throw new DataKeyError(userId, 'data key was not stored');
    return stored;
  }

  /** The user's key, or null when none exists (never made, or shredded). */
  get(userId: string): DataKey | null {
    const row = this.#db.prepare('SELECT wrapped FROM data_keys WHERE user_id = ?').get(userId);
    if (!row) return null;
    const wrapped = row['wrapped'];
    if (!(wrapped instanceof Uint8Array)) throw new DataKeyError(userId, 'stored data key is not a blob');
    let raw: Buffer;
    try {
      raw = this.#master.unwrap(wrapped, wrapAad(userId));
    } catch {
      throw new DataKeyError(userId, 'stored data key does not open: the master key changed or the row was altered or moved');
    }
    if (raw.byteLength !== DATA_KEY_BYTES) throw new DataKeyError(userId, 'stored data key has the wrong length');
    const secret = createSecretKey(raw);
    raw.fill(0);
    return new DataKey(userId, secret);
  }

  /** Crypto-shreds the user's key. Returns whether a key existed. Call before deleting files. */
  destroy(userId: string): boolean {
    return Number(this.#db.prepare('DELETE FROM data_keys WHERE user_id = ?').run(userId).changes) > 0;
  }
}
