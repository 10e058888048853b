/**
 * Versioned schema. Append new migrations; never edit one that has shipped.
 * No audio and no message text is ever stored in the database: only ids, figures and hashes.
 *
 * Each migration is written twice, side by side, for the same tables, columns and indexes:
 * `sql` for SQLite, `postgres` for PostgreSQL. The PostgreSQL text differs only in its types
 * (INTEGER → BIGINT, since SQLite's integers are 64-bit; REAL → DOUBLE PRECISION; BLOB → BYTEA)
 * and in the `rowid` column SQLite gives every table implicitly, which `consents` orders by.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQLite DDL. */
  readonly sql: string;
  /** PostgreSQL DDL for the same schema. */
  readonly postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (platform, platform_user_id)
      );
      CREATE TABLE data_keys (
        user_id TEXT PRIMARY KEY,
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE consents (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        state TEXT NOT NULL,
        text_id TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        language TEXT NOT NULL,
        scope_platform TEXT NOT NULL,
        scope_context TEXT NOT NULL,
        speakers TEXT NOT NULL,
        challenge TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        offer_expires_at TEXT NOT NULL,
        granted_at TEXT,
        voice_ready_at TEXT,
        last_used_at TEXT,
        banked INTEGER NOT NULL DEFAULT 0,
        keep_raw INTEGER NOT NULL DEFAULT 0,
        ended_at TEXT,
        end_reason TEXT
      );
      -- One live consent per user: a second /clone continues the first instead of forking it.
      CREATE UNIQUE INDEX consents_one_live ON consents (user_id)
        WHERE state IN ('offered', 'granted', 'sample_collected', 'voice_ready');
      CREATE TABLE sample_clips (
        id TEXT PRIMARY KEY,
        consent_id TEXT NOT NULL REFERENCES consents (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        seq INTEGER NOT NULL,
        duration_seconds REAL NOT NULL,
        speech_seconds REAL NOT NULL,
        source_rate INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX sample_clips_consent ON sample_clips (consent_id, seq);
      CREATE TABLE voices (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        consent_id TEXT NOT NULL REFERENCES consents (id),
        backend TEXT NOT NULL,
        state TEXT NOT NULL,
        current_version INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE UNIQUE INDEX voices_one_per_consent ON voices (consent_id);
      CREATE TABLE voice_versions (
        voice_id TEXT NOT NULL REFERENCES voices (id),
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        metrics TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (voice_id, version)
      );
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        voice_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        backend TEXT NOT NULL,
        state TEXT NOT NULL,
        progress TEXT,
        result TEXT,
        error_code TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX jobs_voice ON jobs (voice_id, created_at);
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      -- Keyed MAC over the newest event, so deleting events at the tail is detectable too.
      CREATE TABLE ledger_anchor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (platform, platform_user_id)
      );
      CREATE TABLE data_keys (
        user_id TEXT PRIMARY KEY,
        wrapped BYTEA NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE consents (
        -- SQLite's implicit rowid, made explicit: the newest of two consents made in the same instant.
        rowid BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        state TEXT NOT NULL,
        text_id TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        language TEXT NOT NULL,
        scope_platform TEXT NOT NULL,
        scope_context TEXT NOT NULL,
        speakers TEXT NOT NULL,
        challenge TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        offer_expires_at TEXT NOT NULL,
        granted_at TEXT,
        voice_ready_at TEXT,
        last_used_at TEXT,
        banked BIGINT NOT NULL DEFAULT 0,
        keep_raw BIGINT NOT NULL DEFAULT 0,
        ended_at TEXT,
        end_reason TEXT
      );
      -- One live consent per user: a second /clone continues the first instead of forking it.
      CREATE UNIQUE INDEX consents_one_live ON consents (user_id)
        WHERE state IN ('offered', 'granted', 'sample_collected', 'voice_ready');
      CREATE TABLE sample_clips (
        id TEXT PRIMARY KEY,
        consent_id TEXT NOT NULL REFERENCES consents (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        seq BIGINT NOT NULL,
        duration_seconds DOUBLE PRECISION NOT NULL,
        speech_seconds DOUBLE PRECISION NOT NULL,
        source_rate BIGINT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX sample_clips_consent ON sample_clips (consent_id, seq);
      CREATE TABLE voices (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        consent_id TEXT NOT NULL REFERENCES consents (id),
        backend TEXT NOT NULL,
        state TEXT NOT NULL,
        current_version BIGINT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE UNIQUE INDEX voices_one_per_consent ON voices (consent_id);
      CREATE TABLE voice_versions (
        voice_id TEXT NOT NULL REFERENCES voices (id),
        version BIGINT NOT NULL,
        kind TEXT NOT NULL,
        metrics TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (voice_id, version)
      );
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        voice_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        backend TEXT NOT NULL,
        state TEXT NOT NULL,
        progress TEXT,
        result TEXT,
        error_code TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX jobs_voice ON jobs (voice_id, created_at);
      CREATE TABLE audit_events (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        actor TEXT NOT NULL,
        subject TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      -- Keyed MAC over the newest event, so deleting events at the tail is detectable too.
      CREATE TABLE ledger_anchor (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'consent verification',
    sql: `
      -- What was verified for a consent: the reading (words, times), the speaker model and
      -- every clip's match score. Figures and words only; the voiceprint is an encrypted file.
      CREATE TABLE consent_verifications (
        consent_id TEXT PRIMARY KEY REFERENCES consents (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        reading TEXT,
        clips TEXT NOT NULL DEFAULT '[]',
        failed_readings INTEGER NOT NULL DEFAULT 0,
        mismatches INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
    postgres: `
      -- What was verified for a consent: the reading (words, times), the speaker model and
      -- every clip's match score. Figures and words only; the voiceprint is an encrypted file.
      CREATE TABLE consent_verifications (
        consent_id TEXT PRIMARY KEY REFERENCES consents (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        reading TEXT,
        clips TEXT NOT NULL DEFAULT '[]',
        failed_readings BIGINT NOT NULL DEFAULT 0,
        mismatches BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'utterance marks',
    sql: `
      -- The token each synthesised utterance carries in its audio mark, and what it stands for.
      -- After revocation only the key id and the day remain (user, voice and time of day are cleared).
      CREATE TABLE utterance_marks (
        token INTEGER PRIMARY KEY,
        key_id INTEGER NOT NULL,
        user_id TEXT REFERENCES users (id),
        voice_id TEXT,
        created_on TEXT NOT NULL,
        created_at TEXT
      );
      CREATE INDEX utterance_marks_user ON utterance_marks (user_id);
    `,
    postgres: `
      -- The token each synthesised utterance carries in its audio mark, and what it stands for.
      -- After revocation only the key id and the day remain (user, voice and time of day are cleared).
      CREATE TABLE utterance_marks (
        token BIGINT PRIMARY KEY,
        key_id BIGINT NOT NULL,
        user_id TEXT REFERENCES users (id),
        voice_id TEXT,
        created_on TEXT NOT NULL,
        created_at TEXT
      );
      CREATE INDEX utterance_marks_user ON utterance_marks (user_id);
    `,
  },
];
