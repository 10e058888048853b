import type { ClipMatch, VerificationMode, VerificationRecord, VerifiedReading } from './verification-record.ts';
import { transaction } from '../../storage/database.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';

/** Persistence of consent verification: figures and words only, never audio or voiceprints. */
export class VerificationStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  create(consentId: string, userId: string, mode: VerificationMode, at: string): void {
    this.#db
      .prepare(`INSERT INTO consent_verifications (consent_id, user_id, mode, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(consentId, userId, mode, mode === 'off' ? 'off' : 'awaiting_reading', at, at);
  }

  get(consentId: string): VerificationRecord | null {
    const row = this.#db.prepare('SELECT * FROM consent_verifications WHERE consent_id = ?').get(consentId);
    if (!row) return null;
    const mode = String(row['mode']);
    const status = String(row['status']);
    const failedReadings = Number(row['failed_readings']);
    if (mode === 'off' || status === 'off') return { status: 'off', consentId, mode: 'off' };
    if (status === 'awaiting_reading') return { status, consentId, mode: 'required', failedReadings };
    if (status !== 'verified') throw new Error(`consent verification ${consentId} has an unknown status`);
    return {
      status,
      consentId,
      mode: 'required',
      failedReadings,
      reading: JSON.parse(String(row['reading'])) as VerifiedReading,
      clips: JSON.parse(String(row['clips'])) as ClipMatch[],
      mismatches: Number(row['mismatches']),
    };
  }

  readingVerified(consentId: string, reading: VerifiedReading, at: string): void {
    this.#db
      .prepare(`UPDATE consent_verifications SET status = 'verified', reading = ?, updated_at = ? WHERE consent_id = ? AND status = 'awaiting_reading'`)
      .run(JSON.stringify(reading), at, consentId);
  }

  readingFailed(consentId: string, at: string): number {
    this.#db.prepare('UPDATE consent_verifications SET failed_readings = failed_readings + 1, updated_at = ? WHERE consent_id = ?').run(at, consentId);
    return Number(this.#db.prepare('SELECT failed_readings FROM consent_verifications WHERE consent_id = ?').get(consentId)?.['failed_readings'] ?? 0);
  }

  clipMatched(consentId: string, match: ClipMatch, at: string): void {
    // Read, append, write in one transaction: plain SQL both database engines speak (no JSON functions).
    transaction(this.#db, () => {
      const row = this.#db.prepare('SELECT clips FROM consent_verifications WHERE consent_id = ?').get(consentId);
      if (!row) return;
      const clips = JSON.parse(String(row['clips'])) as unknown[];
      clips.push(match);
      this.#db.prepare('UPDATE consent_verifications SET clips = ?, updated_at = ? WHERE consent_id = ?').run(JSON.stringify(clips), at, consentId);
    });
  }

  /** Counts one more clip from another voice; returns how many this consent has had. */
  mismatched(consentId: string, at: string): number {
    this.#db.prepare('UPDATE consent_verifications SET mismatches = mismatches + 1, updated_at = ? WHERE consent_id = ?').run(at, consentId);
    return Number(this.#db.prepare('SELECT mismatches FROM consent_verifications WHERE consent_id = ?').get(consentId)?.['mismatches'] ?? 0);
  }
}
