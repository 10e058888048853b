import { createHash, timingSafeEqual } from 'node:crypto';
import { transaction } from '../storage/database.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';

/**
 * The append-only audit ledger. Each event carries the hash of the one before it,
 * so editing, inserting or deleting an event breaks the chain from that point on;
 * a keyed MAC over the newest event (the anchor) also catches events cut off the end.
 * Events hold ids, hashes and figures — never audio, message text or tokens.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface AuditEventInput {
  readonly type: string;
  /** Who did it: `user:<id>`, `admin:<platform>:<id>`, `operator`, `system`. */
  readonly actor: string;
  /** The internal user id the event concerns, if any. */
  readonly subject?: string | undefined;
  readonly data?: Readonly<Record<string, JsonValue>>;
}

export interface AuditEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly actor: string;
  readonly subject: string | null;
  readonly data: Record<string, JsonValue>;
  readonly prevHash: string;
  readonly hash: string;
}

/** Keyed MAC for the anchor; the master key provides one derived only for this. */
export interface LedgerSealer {
  seal(message: string): string;
}

export type LedgerVerification =
  | { readonly ok: true; readonly events: number }
  | { readonly ok: false; readonly events: number; readonly firstBadSeq: number; readonly reason: string };

const GENESIS = '0'.repeat(64);

export class AuditLedger {
  readonly #db: SqlDatabase;
  readonly #sealer: LedgerSealer;
  readonly #now: () => Date;

  constructor(db: SqlDatabase, sealer: LedgerSealer, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#sealer = sealer;
    this.#now = now;
  }

  append(input: AuditEventInput): AuditEvent {
    return transaction(this.#db, () => {
      const last = this.#db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get();
      const seq = last ? Number(last['seq']) + 1 : 1;
      const prevHash = last ? String(last['hash']) : GENESIS;
      const at = this.#now().toISOString();
      const data = { ...(input.data ?? {}) };
      const subject = input.subject ?? null;
      const hash = eventHash({ seq, at, type: input.type, actor: input.actor, subject, data }, prevHash);
      this.#db
        .prepare('INSERT INTO audit_events (seq, at, type, actor, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(seq, at, input.type, input.actor, subject, canonicalJson(data), prevHash, hash);
      this.#db
        .prepare(
          'INSERT INTO ledger_anchor (id, seq, hash, mac) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac',
        )
        .run(seq, hash, this.#sealer.seal(anchorMessage(seq, hash)));
      return { seq, at, type: input.type, actor: input.actor, subject, data, prevHash, hash };
    });
  }

  /** Events in order, optionally only those about one user. */
  events(filter: { subject?: string; type?: string } = {}): AuditEvent[] {
    const rows = this.#db
      .prepare('SELECT * FROM audit_events WHERE (CAST(? AS TEXT) IS NULL OR subject = ?) AND (CAST(? AS TEXT) IS NULL OR type = ?) ORDER BY seq')
      .all(filter.subject ?? null, filter.subject ?? null, filter.type ?? null, filter.type ?? null);
    return rows.map(rowToEvent);
  }

  /** Walks the whole chain and names the first event that does not fit. */
  verify(): LedgerVerification {
    let prevHash = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (const row of this.#db.prepare('SELECT * FROM audit_events ORDER BY seq').iterate()) {
      const event = rowToEvent(row);
      count++;
      if (event.seq !== expectedSeq) {
        return bad(count, expectedSeq, `event #${expectedSeq} is missing (next stored is #${event.seq})`);
      }
      if (event.prevHash !== prevHash) {
        return bad(count, event.seq, `event #${event.seq} does not follow #${event.seq - 1} (an event was inserted, deleted or edited before it)`);
      }
      if (eventHash(event, prevHash) !== event.hash) {
        return bad(count, event.seq, `event #${event.seq} was edited after it was written`);
      }
      prevHash = event.hash;
      expectedSeq++;
    }
    const anchor = this.#db.prepare('SELECT seq, hash, mac FROM ledger_anchor WHERE id = 1').get();
    const lastSeq = expectedSeq - 1;
    if (!anchor) {
      return lastSeq === 0 ? { ok: true, events: 0 } : bad(count, 1, 'the ledger anchor is missing');
    }
    const anchorSeq = Number(anchor['seq']);
    if (!macEqual(String(anchor['mac']), this.#sealer.seal(anchorMessage(anchorSeq, String(anchor['hash']))))) {
      return bad(count, Math.min(anchorSeq, lastSeq + 1), 'the ledger anchor was forged or the master key changed');
    }
    if (anchorSeq !== lastSeq || String(anchor['hash']) !== prevHash) {
      return bad(
        count,
        Math.min(anchorSeq, lastSeq + 1),
        anchorSeq > lastSeq ? `events #${lastSeq + 1} to #${anchorSeq} were deleted from the end` : `event #${anchorSeq + 1} was appended without the ledger`,
      );
    }
    return { ok: true, events: count };
  }
}

function bad(events: number, firstBadSeq: number, reason: string): LedgerVerification {
  return { ok: false, events, firstBadSeq, reason };
}

function anchorMessage(seq: number, hash: string): string {
  return `vocalis-ledger-anchor:${seq}:${hash}`;
}

function macEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function eventHash(event: Pick<AuditEvent, 'seq' | 'at' | 'type' | 'actor' | 'subject' | 'data'>, prevHash: string): string {
  const body = canonicalJson({ seq: event.seq, at: event.at, type: event.type, actor: event.actor, subject: event.subject, data: event.data });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/** JSON with sorted keys, so the same event always hashes the same. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? null)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function rowToEvent(row: Record<string, unknown>): AuditEvent {
  return {
    seq: Number(row['seq']),
    at: String(row['at']),
    type: String(row['type']),
    actor: String(row['actor']),
    subject: row['subject'] === null ? null : String(row['subject']),
    data: JSON.parse(String(row['data'])) as Record<string, JsonValue>,
    prevHash: String(row['prev_hash']),
    hash: String(row['hash']),
  };
}
