import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DataKeyError } from '../../src/storage/data-keys.ts';
import { MasterKey } from '../../src/storage/master-key.ts';
import { keyStore } from './support/storage-fixture.ts';
import { DataKeyStore } from '../../src/storage/data-keys.ts';

test('getOrCreate makes one key per user and returns the same key afterwards', () => {
  const { store, db } = keyStore();
  assert.equal(store.get('u_a'), null);
  const a1 = store.getOrCreate('u_a');
  const a2 = store.getOrCreate('u_a');
  const b = store.getOrCreate('u_b');
  const salt = randomBytes(16);
  assert.deepEqual(a1.derive(salt, 'x', 32), a2.derive(salt, 'x', 32));
  assert.notDeepEqual(a1.derive(salt, 'x', 32), b.derive(salt, 'x', 32));
  assert.notDeepEqual(a1.derive(salt, 'x', 32), a1.derive(salt, 'y', 32));
  assert.equal(Number(db.prepare('SELECT COUNT(*) AS n FROM data_keys').get()?.['n']), 2);
  const row = db.prepare('SELECT wrapped, created_at FROM data_keys WHERE user_id = ?').get('u_a');
  assert.ok(row?.['wrapped'] instanceof Uint8Array);
  assert.ok(!Number.isNaN(Date.parse(String(row['created_at']))));
});

test('the key object does not show its bytes when logged or serialised', () => {
  const { store } = keyStore();
  const key = store.getOrCreate('u_a');
  assert.equal(JSON.stringify({ key }), '{"key":"[DataKey u_a]"}');
  assert.equal(inspect(key), '[DataKey u_a]');
});

test('a wrapped key moved onto another user does not open', () => {
  const { store, db } = keyStore();
  store.getOrCreate('u_victim');
  const row = db.prepare('SELECT wrapped FROM data_keys WHERE user_id = ?').get('u_victim');
  db.prepare('INSERT INTO data_keys (user_id, wrapped, created_at) VALUES (?, ?, ?)').run(
    'u_attacker',
    row?.['wrapped'] as Uint8Array,
    new Date().toISOString(),
  );
  assert.throws(() => store.get('u_attacker'), DataKeyError);
  assert.throws(() => store.getOrCreate('u_attacker'), DataKeyError, 'a bad row is not silently replaced');
});

test('keys do not open under another master key', () => {
  const { store, db } = keyStore();
  store.getOrCreate('u_a');
  const other = new DataKeyStore(db, new MasterKey(randomBytes(32)));
  assert.throws(() => other.get('u_a'), /master key changed/);
});

test('destroy removes the row and later lookups find nothing', () => {
  const { store, db } = keyStore();
  store.getOrCreate('u_a');
  store.getOrCreate('u_b');
  assert.equal(store.destroy('u_a'), true);
  assert.equal(store.destroy('u_a'), false);
  assert.equal(store.get('u_a'), null);
  assert.ok(store.get('u_b'));
  assert.equal(db.prepare('SELECT 1 FROM data_keys WHERE user_id = ?').get('u_a'), undefined);
});
