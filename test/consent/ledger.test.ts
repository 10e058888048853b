import { test } from 'vitest';
import assert from 'node:assert/strict';
import { AuditLedger } from '../../src/consent/ledger.ts';
import { consentFixture, testSealer } from '../support/consent-fixture.ts';

function seeded(count: number) {
  const f = consentFixture();
  for (let i = 0; i < count; i++) f.ledger.append({ type: 'test.event', actor: 'system', subject: `u_${i}`, data: { i } });
  return f;
}

test('an untouched ledger verifies', () => {
  const f = seeded(5);
  try {
    assert.deepEqual(f.ledger.verify(), { ok: true, events: 5 });
  } finally {
    f.close();
  }
});

test('an edited event is named', () => {
  const f = seeded(5);
  try {
    f.db.prepare('UPDATE audit_events SET data = \'{"i":99}\' WHERE seq = 3').run();
    const result = f.ledger.verify();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.firstBadSeq, 3);
    assert.match(!result.ok ? result.reason : '', /edited/);
  } finally {
    f.close();
  }
});

test('an edited actor or timestamp is named too', () => {
  const f = seeded(4);
  try {
    f.db.prepare("UPDATE audit_events SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 2").run();
    const result = f.ledger.verify();
    assert.equal(!result.ok && result.firstBadSeq, 2);
  } finally {
    f.close();
  }
});

test('a deleted event in the middle is named', () => {
  const f = seeded(5);
  try {
    f.db.prepare('DELETE FROM audit_events WHERE seq = 2').run();
    const result = f.ledger.verify();
    assert.equal(!result.ok && result.firstBadSeq, 2);
    assert.match(!result.ok ? result.reason : '', /missing/);
  } finally {
    f.close();
  }
});

test('an inserted event (renumbered to keep the sequence) is named', () => {
  const f = seeded(4);
  try {
    f.db.prepare('UPDATE audit_events SET seq = -seq WHERE seq >= 3').run();
    f.db.prepare('UPDATE audit_events SET seq = 1 - seq WHERE seq < 0').run();
    const prev = f.db.prepare('SELECT hash FROM audit_events WHERE seq = 2').get();
    f.db
      .prepare(
        "INSERT INTO audit_events (seq, at, type, actor, subject, data, prev_hash, hash) VALUES (3, '2026-01-01T00:00:00.000Z', 'consent.granted', 'user:x', 'u_x', '{}', ?, 'f00d')",
      )
      .run(String(prev?.['hash']));
    const result = f.ledger.verify();
    assert.equal(!result.ok && result.firstBadSeq, 3);
  } finally {
    f.close();
  }
});

test('events cut off the end are caught by the anchor', () => {
  const f = seeded(5);
  try {
    f.db.prepare('DELETE FROM audit_events WHERE seq >= 4').run();
    const result = f.ledger.verify();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.firstBadSeq, 4);
    assert.match(!result.ok ? result.reason : '', /deleted from the end/);
  } finally {
    f.close();
  }
});

test('a rewritten chain with a forged anchor fails without the key', () => {
  const f = seeded(3);
  try {
    // An attacker recomputes hashes but cannot compute the MAC: verify with the real key fails.
    const forger = new AuditLedger(f.db, testSealer('attacker-key'));
    f.db.prepare('DELETE FROM audit_events').run();
    f.db.prepare('DELETE FROM ledger_anchor').run();
    forger.append({ type: 'consent.granted', actor: 'user:x', data: {} });
    const result = f.ledger.verify();
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /forged/);
  } finally {
    f.close();
  }
});

test('events hold no free text fields beyond what the caller passes, and filter by subject', () => {
  const f = seeded(3);
  try {
    assert.equal(f.ledger.events({ subject: 'u_1' }).length, 1);
    assert.equal(f.ledger.events({ type: 'test.event' }).length, 3);
  } finally {
    f.close();
  }
});
