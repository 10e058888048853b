import { randomInt } from 'node:crypto';
import type { Clock } from './ids.ts';
import type { SqlDatabase } from './sql-database.ts';

/**
 * What a mark's utterance token stands for. While the voice exists: whose voice,
 * which voice and when. After revocation only the deployment's key id and the day
 * the audio was made are left, so a clip still verifies as synthetic without
 * anything of the person.
 */
export type UtteranceMarkRecord =
  | {
      readonly status: 'live';
      readonly token: number;
      readonly keyId: number;
      readonly userId: string;
      readonly voiceId: string;
      readonly createdAt: string;
      readonly createdOn: string;
    }
  | { readonly status: 'voice_deleted'; readonly token: number; readonly keyId: number; readonly createdOn: string };

const TOKEN_LIMIT = 2 ** 32;
const ATTEMPTS = 20;

export class UtteranceMarkRecords {
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Records a new utterance and returns its token: random, never reused while its row exists. */
  create(input: { keyId: number; userId: string; voiceId: string }): number {
    const now = this.#clock().toISOString();
    const insert = this.#db.prepare(
      'INSERT INTO utterance_marks (token, key_id, user_id, voice_id, created_on, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING',
    );
    for (let i = 0; i < ATTEMPTS; i++) {
      const token = randomInt(0, TOKEN_LIMIT);
      if (insert.run(token, input.keyId, input.userId, input.voiceId, now.slice(0, 10), now).changes === 1) return token;
    }
    throw new Error('no free utterance token after repeated tries');
  }

  find(token: number): UtteranceMarkRecord | null {
    const row = this.#db.prepare('SELECT token, key_id, user_id, voice_id, created_on, created_at FROM utterance_marks WHERE token = ?').get(token);
    if (!row) return null;
    const base = { token: Number(row['token']), keyId: Number(row['key_id']), createdOn: String(row['created_on']) };
    const userId = row['user_id'];
    const voiceId = row['voice_id'];
    const createdAt = row['created_at'];
    if (typeof userId === 'string' && typeof voiceId === 'string' && typeof createdAt === 'string') {
      return { status: 'live', ...base, userId, voiceId, createdAt };
    }
    return { status: 'voice_deleted', ...base };
  }

  /** Part of revocation: every mark of the user keeps only its key id and day. Returns how many. */
  forgetUser(userId: string): number {
    return Number(this.#db.prepare('UPDATE utterance_marks SET user_id = NULL, voice_id = NULL, created_at = NULL WHERE user_id = ?').run(userId).changes);
  }
}
