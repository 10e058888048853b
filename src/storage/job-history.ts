import type { Clock } from './ids.ts';
import type { SqlDatabase } from './sql-database.ts';

/** The durable history of jobs, for `vocalis jobs` and the user's status; Redis holds only the live queue. */
export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface JobRecord {
  readonly id: string;
  readonly voiceId: string;
  readonly userId: string;
  readonly kind: string;
  readonly backend: string;
  readonly state: JobState;
  readonly progress: { stage: string; fraction: number } | null;
  readonly result: Record<string, number> | null;
  readonly errorCode: string | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export class JobHistory {
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  create(job: { id: string; voiceId: string; userId: string; kind: string; backend: string }): void {
    this.#db
      .prepare('INSERT INTO jobs (id, voice_id, user_id, kind, backend, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(job.id, job.voiceId, job.userId, job.kind, job.backend, 'queued', this.#now());
  }

  started(id: string): void {
    this.#db.prepare("UPDATE jobs SET state = 'active', started_at = COALESCE(started_at, ?) WHERE id = ?").run(this.#now(), id);
  }

  progress(id: string, progress: { stage: string; fraction: number }): void {
    this.#db.prepare('UPDATE jobs SET progress = ? WHERE id = ?').run(JSON.stringify({ stage: progress.stage, fraction: progress.fraction }), id);
  }

  finished(
    id: string,
    outcome: { state: 'completed'; result: Record<string, number> } | { state: 'failed' | 'cancelled'; errorCode: string; error: string },
  ): void {
    if (outcome.state === 'completed') {
      this.#db.prepare("UPDATE jobs SET state = 'completed', result = ?, finished_at = ? WHERE id = ?").run(JSON.stringify(outcome.result), this.#now(), id);
    } else {
      this.#db
        .prepare('UPDATE jobs SET state = ?, error_code = ?, error = ?, finished_at = ? WHERE id = ?')
        .run(outcome.state, outcome.errorCode, outcome.error, this.#now(), id);
    }
  }

  /** Marks every unfinished job of a user cancelled; returns their voice ids. */
  cancelForUser(userId: string, reason: string): string[] {
    const rows = this.#db.prepare("SELECT DISTINCT voice_id FROM jobs WHERE user_id = ? AND state IN ('queued', 'active')").all(userId);
    this.#db
      .prepare(
        "UPDATE jobs SET state = 'cancelled', error_code = 'consent_revoked', error = ?, finished_at = ? WHERE user_id = ? AND state IN ('queued', 'active')",
      )
      .run(reason, this.#now(), userId);
    return rows.map((row) => String(row['voice_id']));
  }

  /** Median wall time of the backend's recent completed fine-tunes, in seconds; null without history. */
  typicalDurationSeconds(backend: string, sample = 10): number | null {
    const rows = this.#db
      .prepare(`SELECT started_at, finished_at FROM jobs
        WHERE backend = ? AND state = 'completed' AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?`)
      .all(backend, sample);
    // The ISO times subtracted here, not in SQL: date arithmetic is where the two engines differ.
    const seconds = rows
      .map((row) => (Date.parse(String(row['finished_at'])) - Date.parse(String(row['started_at']))) / 1000)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return seconds.length === 0 ? null : (seconds[Math.floor(seconds.length / 2)] ?? null);
  }

  get(id: string): JobRecord | null {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id);
    return row ? rowToJob(row) : null;
  }

  list(filter: { userId?: string; limit?: number } = {}): JobRecord[] {
    return this.#db
      .prepare('SELECT * FROM jobs WHERE (CAST(? AS TEXT) IS NULL OR user_id = ?) ORDER BY created_at DESC LIMIT ?')
      .all(filter.userId ?? null, filter.userId ?? null, filter.limit ?? 100)
      .map(rowToJob);
  }

  #now(): string {
    return this.#clock().toISOString();
  }
}

const JOB_STATES: readonly JobState[] = ['queued', 'active', 'completed', 'failed', 'cancelled'];

function rowToJob(row: Record<string, unknown>): JobRecord {
  const state = String(row['state']);
  if (!(JOB_STATES as readonly string[]).includes(state)) throw new Error(`job ${String(row['id'])} has unknown state`);
  const json = <T>(key: string): T | null => (row[key] === null || row[key] === undefined ? null : (JSON.parse(String(row[key])) as T));
  const text = (key: string): string | null => (row[key] === null || row[key] === undefined ? null : String(row[key]));
  return {
    id: String(row['id']),
    voiceId: String(row['voice_id']),
    userId: String(row['user_id']),
    kind: String(row['kind']),
    backend: String(row['backend']),
    state: state as JobState,
    progress: json('progress'),
    result: json('result'),
    errorCode: text('error_code'),
    error: text('error'),
    createdAt: String(row['created_at']),
    startedAt: text('started_at'),
    finishedAt: text('finished_at'),
  };
}
