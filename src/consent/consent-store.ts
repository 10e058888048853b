import type { ConsentRecord, ConsentScope, SpeakerPolicy } from './consent-record.ts';
import { isConsentState, LIVE_STATES, type ConsentState } from './consent-state.ts';
import { isConsentLanguage } from './consent-texts.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';

/** SQLite persistence for consents. Only the consent service writes through it. */
export class ConsentStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  insert(record: ConsentRecord): void {
    this.#db
      .prepare(`INSERT INTO consents (id, user_id, state, text_id, text_sha256, language, scope_platform, scope_context, speakers,
        challenge, created_by, created_at, updated_at, offer_expires_at, banked, keep_raw)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        record.id,
        record.userId,
        record.state,
        record.textId,
        record.textSha256,
        record.language,
        record.scope.platform,
        record.scope.context,
        JSON.stringify(record.scope.speakers),
        record.challenge,
        record.createdBy,
        record.createdAt,
        record.createdAt,
        record.offerExpiresAt,
        record.banked ? 1 : 0,
        record.keepRaw ? 1 : 0,
      );
  }

  get(id: string): ConsentRecord | null {
    const row = this.#db.prepare('SELECT * FROM consents WHERE id = ?').get(id);
    return row ? rowToConsent(row) : null;
  }

  /** The user's one live consent (offered, granted, sample collected or voice ready), if any. */
  live(userId: string): ConsentRecord | null {
    const row = this.#db
      .prepare(`SELECT * FROM consents WHERE user_id = ? AND state IN (${LIVE_STATES.map(() => '?').join(', ')})`)
      .get(userId, ...LIVE_STATES);
    return row ? rowToConsent(row) : null;
  }

  /** The newest consent of a user in any state. */
  latest(userId: string): ConsentRecord | null {
    const row = this.#db.prepare('SELECT * FROM consents WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(userId);
    return row ? rowToConsent(row) : null;
  }

  listLive(filter: { platform?: string; context?: string } = {}): ConsentRecord[] {
    return this.#db
      .prepare(`SELECT * FROM consents WHERE state IN (${LIVE_STATES.map(() => '?').join(', ')})
        AND (CAST(? AS TEXT) IS NULL OR scope_platform = ?) AND (CAST(? AS TEXT) IS NULL OR scope_context = ?) ORDER BY created_at`)
      .all(...LIVE_STATES, filter.platform ?? null, filter.platform ?? null, filter.context ?? null, filter.context ?? null)
      .map(rowToConsent);
  }

  setState(id: string, state: ConsentState, at: string, extra: { grantedAt?: string; voiceReadyAt?: string; endReason?: string } = {}): void {
    const ended = state === 'revoked' || state === 'expired' || state === 'declined';
    this.#db
      .prepare(`UPDATE consents SET state = ?, updated_at = ?,
        granted_at = COALESCE(?, granted_at), voice_ready_at = COALESCE(?, voice_ready_at),
        ended_at = CASE WHEN ? THEN ? ELSE ended_at END, end_reason = COALESCE(?, end_reason)
      WHERE id = ?`)
      .run(state, at, extra.grantedAt ?? null, extra.voiceReadyAt ?? null, ended ? 1 : 0, at, extra.endReason ?? null, id);
  }

  setOptions(id: string, options: { banked?: boolean; keepRaw?: boolean; speakers?: SpeakerPolicy }, at: string): void {
    this.#db
      .prepare(`UPDATE consents SET updated_at = ?, banked = COALESCE(?, banked), keep_raw = COALESCE(?, keep_raw),
        speakers = COALESCE(?, speakers) WHERE id = ?`)
      .run(at, boolParam(options.banked), boolParam(options.keepRaw), options.speakers ? JSON.stringify(options.speakers) : null, id);
  }

  touch(id: string, at: string): void {
    this.#db.prepare('UPDATE consents SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  /** The verification mode and status of a consent (null: given before verification existed). */
  verificationState(consentId: string): { mode: string; status: string } | null {
    const row = this.#db.prepare('SELECT mode, status FROM consent_verifications WHERE consent_id = ?').get(consentId);
    return row ? { mode: String(row['mode']), status: String(row['status']) } : null;
  }

  /** Challenge phrases of every live consent: a cloned voice must never say them. */
  liveChallenges(): string[] {
    return this.#db
      .prepare(`SELECT challenge FROM consents WHERE state IN (${LIVE_STATES.map(() => '?').join(', ')})`)
      .all(...LIVE_STATES)
      .map((row) => String(row['challenge']));
  }
}

function boolParam(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}

function rowToConsent(row: Record<string, unknown>): ConsentRecord {
  const state = String(row['state']);
  const language = String(row['language']);
  if (!isConsentState(state) || !isConsentLanguage(language)) throw new Error(`consent ${String(row['id'])} has an unknown state or language`);
  const scope: ConsentScope = {
    platform: String(row['scope_platform']),
    context: String(row['scope_context']),
    speakers: JSON.parse(String(row['speakers'])) as SpeakerPolicy,
  };
  const text = (key: string): string | null => (row[key] === null || row[key] === undefined ? null : String(row[key]));
  return {
    id: String(row['id']),
    userId: String(row['user_id']),
    state,
    textId: String(row['text_id']),
    textSha256: String(row['text_sha256']),
    language,
    scope,
    challenge: String(row['challenge']),
    createdBy: String(row['created_by']),
    createdAt: String(row['created_at']),
    offerExpiresAt: String(row['offer_expires_at']),
    grantedAt: text('granted_at'),
    voiceReadyAt: text('voice_ready_at'),
    lastUsedAt: text('last_used_at'),
    banked: Number(row['banked']) === 1,
    keepRaw: Number(row['keep_raw']) === 1,
    endedAt: text('ended_at'),
    endReason: text('end_reason'),
  };
}
