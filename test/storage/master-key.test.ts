import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmod, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMasterKey, MasterKey, MasterKeyError, parseKeyText, UnwrapError } from '../../src/storage/master-key.ts';
import { tempDir } from './support/storage-fixture.ts';

test('key file is created with mode 0600 at first start and reused afterwards', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'nested', 'master.key');
  const first = await loadMasterKey({ keyFile });
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  assert.equal((await stat(join(tmp.dir, 'nested'))).mode & 0o777, 0o700);
  const second = await loadMasterKey({ keyFile });
  const wrapped = first.wrap(Buffer.from('secret'), 'u_1');
  assert.equal(second.unwrap(wrapped, 'u_1').toString(), 'secret');
  assert.equal(first.hmac('anchor'), second.hmac('anchor'));
  assert.deepEqual((await readdir(join(tmp.dir, 'nested'))).sort(), ['master.key'], 'no temp file is left behind');
});

test('concurrent loads in one process end up with one key', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'master.key');
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ keyFile })));
  const macs = new Set(keys.map((k) => k.hmac('x')));
  assert.equal(macs.size, 1);
  assert.equal((await readdir(tmp.dir)).length, 1);
});

test('separate processes starting at the same moment all get the one key that won', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'master.key');
  const moduleUrl = new URL('../../src/storage/master-key.ts', import.meta.url).href;
  const startAt = Date.now() + 600;
  // Each child spins until the same instant, then races to create the key file.
  const script = `const { loadMasterKey } = await import(${JSON.stringify(moduleUrl)});
    while (Date.now() < ${startAt}) {}
    const key = await loadMasterKey({ keyFile: ${JSON.stringify(keyFile)} });
    process.stdout.write(key.hmac('probe'));`;
  const runs = Array.from(
    { length: 6 },
    () =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => (error ? reject(error) : resolve(stdout)));
      }),
  );
  const macs = await Promise.all(runs);
  assert.equal(new Set(macs).size, 1, 'every process holds the same key');
  assert.equal((await loadMasterKey({ keyFile })).hmac('probe'), macs[0]);
  assert.deepEqual(await readdir(tmp.dir), ['master.key']);
});

test('a key file readable by group or others is refused with the chmod fix', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'master.key');
  await loadMasterKey({ keyFile });
  await chmod(keyFile, 0o640);
  await assert.rejects(loadMasterKey({ keyFile }), (error: unknown) => {
    assert.ok(error instanceof MasterKeyError);
    assert.match(error.message, /chmod 600 /);
    assert.ok(error.message.includes(keyFile));
    return true;
  });
  await chmod(keyFile, 0o604);
  await assert.rejects(loadMasterKey({ keyFile }), /chmod 600/);
});

test('a symlink at the key path or a damaged key file is refused', async () => {
  await using tmp = await tempDir();
  const real = join(tmp.dir, 'real.key');
  await writeFile(real, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const link = join(tmp.dir, 'master.key');
  await symlink(real, link);
  await assert.rejects(loadMasterKey({ keyFile: link }), /symbolic link/);
  const damaged = join(tmp.dir, 'damaged.key');
  await writeFile(damaged, 'not a key\n', { mode: 0o600 });
  await assert.rejects(loadMasterKey({ keyFile: damaged }), (error: unknown) => error instanceof MasterKeyError && !error.message.includes('not a key'));
});

test('environment key in base64 or hex is used instead of the file', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'master.key');
  const raw = randomBytes(32);
  const fromB64 = await loadMasterKey({ env: raw.toString('base64'), keyFile });
  const fromHex = await loadMasterKey({ env: raw.toString('hex').toUpperCase(), keyFile });
  const fromUrl = await loadMasterKey({ env: raw.toString('base64url'), keyFile });
  assert.equal(fromB64.hmac('m'), fromHex.hmac('m'));
  assert.equal(fromB64.hmac('m'), fromUrl.hmac('m'));
  assert.equal(fromB64.hmac('m'), new MasterKey(raw).hmac('m'));
  await assert.rejects(stat(keyFile), { code: 'ENOENT' }, 'no key file is written when the environment has one');
});

test('a bad environment key is refused without echoing it', async () => {
  await using tmp = await tempDir();
  const keyFile = join(tmp.dir, 'master.key');
  const bad = [
    'hunter2-SECRET-VALUE',
    randomBytes(16).toString('base64'), // 16 bytes: too short
    randomBytes(33).toString('base64'), // too long
    `${randomBytes(31).toString('hex')}zz`, // 64 chars, not hex
    randomBytes(32).toString('hex').slice(0, 63),
  ];
  for (const value of bad) {
    await assert.rejects(loadMasterKey({ env: value, keyFile }), (error: unknown) => {
      assert.ok(error instanceof MasterKeyError);
      assert.match(error.message, /VOCALIS_MASTER_KEY must be 32 bytes/);
      assert.ok(!error.message.includes(value), 'the value is not echoed');
      assert.ok(!error.message.includes(value.slice(0, 8)), 'not even a prefix of it');
      return true;
    });
  }
  assert.equal(parseKeyText(`  ${'ab'.repeat(32)}\n`)?.byteLength, 32);
});

test('wrap/unwrap round trip; AAD and master key are both bound', () => {
  const master = new MasterKey(randomBytes(32));
  const secret = randomBytes(32);
  const wrapped = master.wrap(secret, 'u_alice');
  assert.ok(!Buffer.from(wrapped).includes(secret.subarray(0, 8)));
  assert.deepEqual(master.unwrap(wrapped, 'u_alice'), secret);
  assert.throws(() => master.unwrap(wrapped, 'u_bob'), UnwrapError);
  assert.throws(() => new MasterKey(randomBytes(32)).unwrap(wrapped, 'u_alice'), UnwrapError);
  const flipped = Buffer.from(wrapped);
  flipped[20] = (flipped[20] ?? 0) ^ 1;
  assert.throws(() => master.unwrap(flipped, 'u_alice'), UnwrapError);
  assert.throws(() => master.unwrap(new Uint8Array(5), 'u_alice'), UnwrapError);
});

test('hmac uses a subkey separate from the wrapping key and is stable', () => {
  const raw = randomBytes(32);
  const master = new MasterKey(raw);
  assert.notEqual(master.hmac('m'), createHmac('sha256', raw).update('m').digest('hex'), 'not keyed by the raw master key');
  assert.equal(master.hmac('m'), master.hmac(Buffer.from('m')));
  assert.notEqual(master.hmac('m'), master.hmac('n'));
  assert.match(master.hmac('m'), /^[0-9a-f]{64}$/);
});
