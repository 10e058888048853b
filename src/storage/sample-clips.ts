import { newId, type Clock } from './ids.ts';
import type { SqlDatabase } from './sql-database.ts';

/** One accepted recording that is part of a user's sample. The audio itself lives encrypted on disk. */
export interface SampleClip {
  readonly id: string;
  readonly consentId: string;
  readonly userId: string;
  readonly seq: number;
  readonly durationSeconds: number;
  readonly speechSeconds: number;
  readonly sourceRate: number;
  readonly createdAt: string;
}

export class SampleClipIndex {
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Reserves an id for a clip whose file is written before `insert` records it. */
  newClipId(): string {
    return newId('clip');
  }

  insert(clip: Omit<SampleClip, 'seq' | 'createdAt'>): SampleClip {
    const seq = Number(this.#db.prepare('SELECT COUNT(*) AS n FROM sample_clips WHERE consent_id = ?').get(clip.consentId)?.['n'] ?? 0) + 1;
    const createdAt = this.#clock().toISOString();
    this.#db
      .prepare(`INSERT INTO sample_clips (id, consent_id, user_id, seq, duration_seconds, speech_seconds, source_rate, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(clip.id, clip.consentId, clip.userId, seq, clip.durationSeconds, clip.speechSeconds, clip.sourceRate, createdAt);
    return { ...clip, seq, createdAt };
  }

  forConsent(consentId: string): SampleClip[] {
    return this.#db.prepare('SELECT * FROM sample_clips WHERE consent_id = ? ORDER BY seq').all(consentId).map(rowToClip);
  }

  totals(consentId: string): { clips: number; speechSeconds: number; durationSeconds: number } {
    const row = this.#db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(speech_seconds), 0) AS s, COALESCE(SUM(duration_seconds), 0) AS d FROM sample_clips WHERE consent_id = ?')
      .get(consentId);
    return { clips: Number(row?.['n'] ?? 0), speechSeconds: Number(row?.['s'] ?? 0), durationSeconds: Number(row?.['d'] ?? 0) };
  }

  deleteForConsent(consentId: string): number {
    return Number(this.#db.prepare('DELETE FROM sample_clips WHERE consent_id = ?').run(consentId).changes);
  }

  deleteForUser(userId: string): number {
    return Number(this.#db.prepare('DELETE FROM sample_clips WHERE user_id = ?').run(userId).changes);
  }
}

function rowToClip(row: Record<string, unknown>): SampleClip {
  return {
    id: String(row['id']),
    consentId: String(row['consent_id']),
    userId: String(row['user_id']),
    seq: Number(row['seq']),
    durationSeconds: Number(row['duration_seconds']),
    speechSeconds: Number(row['speech_seconds']),
    sourceRate: Number(row['source_rate']),
    createdAt: String(row['created_at']),
  };
}
