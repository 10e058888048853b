import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataPaths, UnsafePathError } from '../../src/storage/data-paths.ts';
import { ScratchDir, sweepStaleScratch } from '../../src/storage/scratch-dir.ts';
import { tempDir } from './support/storage-fixture.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

test('a scratch dir is private (0700) and removed by dispose, twice safely', async () => {
  await using tmp = await tempDir();
  const paths = new DataPaths(tmp.dir);
  const scratch = await ScratchDir.create(paths, 'job_1');
  assert.ok(scratch.path.startsWith(`${paths.scratchRoot}/`));
  assert.equal((await stat(scratch.path)).mode & 0o777, 0o700);
  assert.equal((await stat(paths.scratchRoot)).mode & 0o777, 0o700);
  await mkdir(join(scratch.path, 'clips'));
  await writeFile(join(scratch.path, 'clips', 'decoded.pcm'), Buffer.alloc(1000, 7));
  await scratch.dispose();
  assert.equal(await exists(scratch.path), false);
  await scratch.dispose();
  assert.equal(scratch.disposed, true);
});

test('await using wipes the folder when the job throws', async () => {
  await using tmp = await tempDir();
  const paths = new DataPaths(tmp.dir);
  let seen = '';
  await assert.rejects(async () => {
    await using scratch = await ScratchDir.create(paths, 'job_2');
    seen = scratch.path;
    await writeFile(join(scratch.path, 'plain.wav'), Buffer.alloc(10));
    throw new Error('fine-tune failed');
  }, /fine-tune failed/);
  assert.notEqual(seen, '');
  assert.equal(await exists(seen), false);
});

test('create refuses unsafe job ids and starts a re-run of a job from an empty folder', async () => {
  await using tmp = await tempDir();
  const paths = new DataPaths(tmp.dir);
  await assert.rejects(ScratchDir.create(paths, '../escape'), UnsafePathError);
  const first = await ScratchDir.create(paths, 'job_3');
  await writeFile(join(first.path, 'left.wav'), Buffer.alloc(10));
  const second = await ScratchDir.create(paths, 'job_3');
  assert.deepEqual(await readdir(second.path), []);
  await second.dispose();
});

test("sweep removes leftovers of dead processes and junk, but keeps live processes' folders", async () => {
  await using tmp = await tempDir();
  const paths = new DataPaths(tmp.dir);
  assert.equal(await sweepStaleScratch(paths), 0, 'no scratch root yet');
  // A pid that surely exited: a child we ran to completion.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const crashed = join(paths.scratchRoot, `p${dead}-job_old`);
  await mkdir(join(crashed, 'deep'), { recursive: true });
  await writeFile(join(crashed, 'deep', 'plain.pcm'), Buffer.alloc(100));
  await writeFile(join(paths.scratchRoot, 'junk.tmp'), 'x');
  const otherLive = join(paths.scratchRoot, 'p1-job_other'); // pid 1 is always alive
  await mkdir(otherLive);
  const own = join(paths.scratchRoot, `p${process.pid}-job_reused_pid`);
  await mkdir(own);
  assert.equal(await sweepStaleScratch(paths), 3);
  assert.deepEqual(await readdir(paths.scratchRoot), ['p1-job_other']);
});
