import { test } from 'vitest';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DataPaths, UnsafePathError } from '../../src/storage/data-paths.ts';
import { tempDir } from './support/storage-fixture.ts';

const UNSAFE_IDS = ['../x', '..', '.', 'A', 'a/b', 'a\\b', '', 'a'.repeat(65), '-a', '_a', 'a b', 'a\0b', 'é', 'u_1\n', 'a.b'];

test('layout: every path is under the data dir with the documented shape', () => {
  const paths = new DataPaths('/srv/vocalis/./data/');
  assert.equal(paths.root, '/srv/vocalis/data');
  assert.equal(paths.databaseFile, '/srv/vocalis/data/vocalis.sqlite');
  assert.equal(paths.masterKeyFile, '/srv/vocalis/data/master.key');
  assert.equal(paths.redisDir, '/srv/vocalis/data/redis');
  assert.equal(paths.scratchRoot, '/srv/vocalis/data/scratch');
  assert.equal(paths.userDir('u_0a1b'), '/srv/vocalis/data/users/u_0a1b');
  assert.equal(paths.clipFile('u_0a1b', 'clip_9'), '/srv/vocalis/data/users/u_0a1b/samples/clip_9.enc');
  assert.equal(paths.voiceVersionDir('u_0a1b', 'v_2', 3), '/srv/vocalis/data/users/u_0a1b/voices/v_2/v3');
  assert.equal(paths.voiceFile('u_0a1b', 'v_2', 3, 'gpt.onnx'), '/srv/vocalis/data/users/u_0a1b/voices/v_2/v3/gpt.onnx.enc');
  assert.equal(paths.clipIdentity('u_0a1b', 'clip_9'), 'user/u_0a1b/sample/clip_9');
  assert.equal(paths.voiceFileIdentity('u_0a1b', 'v_2', 3, 'gpt.onnx'), 'user/u_0a1b/voice/v_2/v3/gpt.onnx');
  assert.equal(paths.userDir('a'.repeat(64)).length > 0, true);
});

test('unsafe ids are refused everywhere, without echoing them', () => {
  const paths = new DataPaths('/data');
  for (const bad of UNSAFE_IDS) {
    const calls = [
      () => paths.userDir(bad),
      () => paths.clipFile('u_1', bad),
      () => paths.clipFile(bad, 'clip_1'),
      () => paths.voiceVersionDir('u_1', bad, 1),
      () => paths.voiceFile(bad, 'v_1', 1, 'a.bin'),
      () => paths.scratchDir(bad),
      () => paths.clipIdentity(bad, 'clip_1'),
    ];
    for (const call of calls) {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof UnsafePathError, `accepted ${JSON.stringify(bad)}`);
        if (bad.length > 2) assert.ok(!error.message.includes(bad));
        return true;
      });
    }
  }
});

test('unsafe file names and versions are refused', () => {
  const paths = new DataPaths('/data');
  for (const bad of ['', '.', '..', '../etc/passwd', 'a/b', '.hidden', 'a..b', 'x'.repeat(101), 'name with space', 'a\\b', 'ü.bin']) {
    assert.throws(() => paths.voiceFile('u_1', 'v_1', 1, bad), UnsafePathError, JSON.stringify(bad));
  }
  for (const good of ['gpt.onnx', 'ref-1.wav', 'Stats_2.json', 'x'.repeat(100)]) {
    assert.ok(paths.voiceFile('u_1', 'v_1', 1, good).endsWith(`${good}.enc`));
  }
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
    assert.throws(() => paths.voiceVersionDir('u_1', 'v_1', bad), UnsafePathError, String(bad));
  }
});

test('ensureDir creates 0700 folders and refuses anything outside the data dir', async () => {
  await using tmp = await tempDir();
  const paths = new DataPaths(join(tmp.dir, 'data'));
  const dir = await paths.ensureDir(paths.voiceVersionDir('u_1', 'v_1', 1));
  for (let d = dir; relative(tmp.dir, d) !== ''; d = join(d, '..')) {
    assert.equal((await stat(d)).mode & 0o777, 0o700, relative(tmp.dir, d));
  }
  await assert.rejects(paths.ensureDir(join(paths.root, '..', 'elsewhere')), UnsafePathError);
  await assert.rejects(paths.ensureDir('/tmp'), UnsafePathError);
  await assert.rejects(paths.ensureDir(`${paths.root}-sibling`), UnsafePathError);
});
