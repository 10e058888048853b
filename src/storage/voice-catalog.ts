import { newId, type Clock } from './ids.ts';
import type { SqlDatabase } from './sql-database.ts';

/**
 * Voices and their versions. A voice serves its `current_version`; a new version
 * becomes current only in `publish`, after all of its files are written, so a
 * half-written voice is never served.
 */
export type VoiceState = 'preview' | 'training' | 'ready' | 'failed' | 'deleted';

const VOICE_STATES: readonly VoiceState[] = ['preview', 'training', 'ready', 'failed', 'deleted'];
function isVoiceState(value: string): value is VoiceState {
  return (VOICE_STATES as readonly string[]).includes(value);
}

export interface VoiceRecord {
  readonly id: string;
  readonly userId: string;
  readonly consentId: string;
  readonly backend: string;
  readonly state: VoiceState;
  readonly currentVersion: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface VoiceVersion {
  readonly voiceId: string;
  readonly version: number;
  readonly kind: 'preview' | 'finetuned';
  readonly metrics: Record<string, number>;
  readonly createdAt: string;
}

export class VoiceCatalog {
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  constructor(db: SqlDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The consent's voice, created on first use. */
  ensure(userId: string, consentId: string, backend: string): VoiceRecord {
    const existing = this.forConsent(consentId);
    if (existing) return existing;
    const now = this.#clock().toISOString();
    const id = newId('v');
    this.#db
      .prepare('INSERT INTO voices (id, user_id, consent_id, backend, state, current_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)')
      .run(id, userId, consentId, backend, 'training', now, now);
    return this.require(id);
  }

  get(id: string): VoiceRecord | null {
    const row = this.#db.prepare('SELECT * FROM voices WHERE id = ?').get(id);
    return row ? rowToVoice(row) : null;
  }

  require(id: string): VoiceRecord {
    const voice = this.get(id);
    if (!voice) throw new Error(`no voice ${id}`);
    return voice;
  }

  forConsent(consentId: string): VoiceRecord | null {
    const row = this.#db.prepare('SELECT * FROM voices WHERE consent_id = ?').get(consentId);
    return row ? rowToVoice(row) : null;
  }

  forUser(userId: string): VoiceRecord[] {
    return this.#db.prepare('SELECT * FROM voices WHERE user_id = ? ORDER BY created_at').all(userId).map(rowToVoice);
  }

  list(): VoiceRecord[] {
    return this.#db.prepare("SELECT * FROM voices WHERE state != 'deleted' ORDER BY created_at").all().map(rowToVoice);
  }

  /** The number a new version gets. A failed attempt leaves no row, so its number is reused: writers clear the folder first. */
  nextVersion(voiceId: string): number {
    const row = this.#db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM voice_versions WHERE voice_id = ?').get(voiceId);
    return Number(row?.['v'] ?? 0) + 1;
  }

  setBackend(voiceId: string, backend: string): void {
    this.#db.prepare('UPDATE voices SET backend = ?, updated_at = ? WHERE id = ?').run(backend, this.#clock().toISOString(), voiceId);
  }

  setState(voiceId: string, state: VoiceState): void {
    this.#db.prepare('UPDATE voices SET state = ?, updated_at = ? WHERE id = ?').run(state, this.#clock().toISOString(), voiceId);
  }

  /** Makes a fully written version the one that serves. */
  publish(voiceId: string, version: number, kind: VoiceVersion['kind'], metrics: Record<string, number>): void {
    const now = this.#clock().toISOString();
    this.#db
      .prepare('INSERT INTO voice_versions (voice_id, version, kind, metrics, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(voiceId, version, kind, JSON.stringify(metrics), now);
    this.#db
      .prepare('UPDATE voices SET current_version = ?, state = ?, updated_at = ? WHERE id = ?')
      .run(version, kind === 'finetuned' ? 'ready' : 'preview', now, voiceId);
  }

  version(voiceId: string, version: number): VoiceVersion | null {
    const row = this.#db.prepare('SELECT * FROM voice_versions WHERE voice_id = ? AND version = ?').get(voiceId, version);
    return row
      ? {
          voiceId,
          version,
          kind: String(row['kind']) === 'preview' ? 'preview' : 'finetuned',
          metrics: JSON.parse(String(row['metrics'])) as Record<string, number>,
          createdAt: String(row['created_at']),
        }
      : null;
  }

  /** Revocation: rows stay as tombstones (ids only), versions go. */
  markDeletedForUser(userId: string): string[] {
    const ids = this.forUser(userId).map((v) => v.id);
    for (const id of ids) {
      this.#db.prepare('DELETE FROM voice_versions WHERE voice_id = ?').run(id);
      this.#db.prepare("UPDATE voices SET state = 'deleted', current_version = NULL, updated_at = ? WHERE id = ?").run(this.#clock().toISOString(), id);
    }
    return ids;
  }
}

function rowToVoice(row: Record<string, unknown>): VoiceRecord {
  const state = String(row['state']);
  if (!isVoiceState(state)) throw new Error(`voice ${String(row['id'])} has unknown state ${state}`);
  return {
    id: String(row['id']),
    userId: String(row['user_id']),
    consentId: String(row['consent_id']),
    backend: String(row['backend']),
    state,
    currentVersion: row['current_version'] === null ? null : Number(row['current_version']),
    createdAt: String(row['created_at']),
    updatedAt: String(row['updated_at']),
  };
}
