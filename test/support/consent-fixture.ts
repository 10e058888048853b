import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentChanges } from '../../src/consent/consent-changes.ts';
import { ConsentGate } from '../../src/consent/consent-gate.ts';
import { ConsentService } from '../../src/consent/consent-service.ts';
import { ConsentStore } from '../../src/consent/consent-store.ts';
import { AuditLedger, type LedgerSealer } from '../../src/consent/ledger.ts';
import type { Clock } from '../../src/storage/ids.ts';
import type { SqlDatabase } from '../../src/storage/sql-database.ts';
import { UserDirectory } from '../../src/storage/user-directory.ts';
import { openTestDatabase } from './test-database.ts';

/** A clock tests move by hand. */
export class ManualClock {
  #now: number;
  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }
  readonly now: Clock = () => new Date(this.#now);
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** HMAC sealer with a fixed test key (the real one derives from the master key). */
export function testSealer(key = 'test-ledger-key'): LedgerSealer {
  return { seal: (message) => createHmac('sha256', key).update(message).digest('hex') };
}

export interface ConsentFixture {
  readonly dir: string;
  readonly db: SqlDatabase;
  readonly clock: ManualClock;
  readonly users: UserDirectory;
  readonly store: ConsentStore;
  readonly ledger: AuditLedger;
  readonly consents: ConsentService;
  readonly gate: ConsentGate;
  /** A second connection to the same database, as another process would have. */
  connectAgain(): SqlDatabase;
  /** The consent service of another process on the same database, which announces nothing to this one (no Redis). */
  anotherProcess(): { readonly consents: ConsentService; close(): void };
  close(): void;
}

/** A real database (SQLite in a temp folder, or PostgreSQL under the `postgres` project) with the consent parts wired as in the service. */
export function consentFixture(options: { verification?: 'required' | 'off' } = {}): ConsentFixture {
  const dir = mkdtempSync(join(tmpdir(), 'vocalis-consent-'));
  const { db, connectAgain } = openTestDatabase(dir);
  const clock = new ManualClock();
  const users = new UserDirectory(db, clock.now);
  const store = new ConsentStore(db);
  const ledger = new AuditLedger(db, testSealer(), clock.now);
  // As the runtime wires them: committed changes reach the gate; cached per-chunk checks on PostgreSQL.
  const changes = new ConsentChanges();
  const policy = {
    offerMinutes: 15,
    rawSampleRetentionDays: 7,
    voiceInactivityDays: 365,
    // These consents never hear audio (the tests move states by hand): verification off, as an operator
    // would set it, unless a test of verification asks for it.
    verification: options.verification ?? 'off',
  } as const;
  const consents = new ConsentService({ db, changes, store, ledger, clock: clock.now, policy });
  const gate = new ConsentGate({ store, users, clock: clock.now, changes, cachedChecks: db.dialect === 'postgres' });
  return {
    dir,
    db,
    clock,
    users,
    store,
    ledger,
    consents,
    gate,
    connectAgain,
    anotherProcess() {
      const other = connectAgain();
      const otherConsents = new ConsentService({
        db: other,
        store: new ConsentStore(other),
        ledger: new AuditLedger(other, testSealer(), clock.now),
        clock: clock.now,
        policy,
      });
      return { consents: otherConsents, close: () => other.close() };
    },
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
