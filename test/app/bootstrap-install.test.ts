import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/spawn-node.ts';

/**
 * The bootstrap installs with `npm ci` when package-lock.json is there, so `npm test` on
 * a fresh clone installs exactly the locked tree and never rewrites the lock file (with
 * the CPU-only onnxruntime still selected). Run on a copy of the bootstrap in a scratch
 * project whose `npm` only records how it was called.
 */
const LOCK = JSON.stringify(
  { name: 'scratch', version: '0.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'scratch', version: '0.0.0' } } },
  null,
  2,
);

async function bootstrapInstall(withLock: boolean): Promise<{ args: string[]; onnxruntime: string; lockAfter: string | null }> {
  const root = await mkdtemp(join(tmpdir(), 'vocalis-bootstrap-'));
  try {
    await mkdir(join(root, 'scripts'));
    await mkdir(join(root, 'bin'));
    await copyFile(join(REPO_ROOT, 'scripts', 'bootstrap.mjs'), join(root, 'scripts', 'bootstrap.mjs'));
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'scratch', version: '0.0.0', private: true }));
    if (withLock) await writeFile(join(root, 'package-lock.json'), LOCK);
    const record = join(root, 'npm-call.json');
    await writeFile(
      join(root, 'bin', 'npm'),
      ['#!/bin/sh', `printf '{"args":"%s","onnxruntime":"%s"}' "$*" "$ONNXRUNTIME_NODE_INSTALL" > ${JSON.stringify(record)}`, 'mkdir -p node_modules'].join(
        '\n',
      ),
      { mode: 0o755 },
    );
    // `worker` runs src/worker-main.ts, absent here: the task fails at once after the install.
    const child = spawn(process.execPath, [join(root, 'scripts', 'bootstrap.mjs'), 'worker'], {
      cwd: root,
      env: { PATH: `${join(root, 'bin')}:${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    const call = JSON.parse(
      await readFile(record, 'utf8').catch(() => {
        throw new Error(`npm was not called:\n${output}`);
      }),
    ) as { args: string; onnxruntime: string };
    const lockAfter = withLock ? await readFile(join(root, 'package-lock.json'), 'utf8') : null;
    return { args: call.args.split(' '), onnxruntime: call.onnxruntime, lockAfter };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('with a lock file the bootstrap installs with npm ci, CPU-only onnxruntime, and leaves the lock file as it was', async () => {
  const { args, onnxruntime, lockAfter } = await bootstrapInstall(true);
  assert.equal(args[0], 'ci');
  assert.equal(onnxruntime, 'skip');
  assert.equal(lockAfter, LOCK);
});

test('without a lock file it falls back to npm install', async () => {
  const { args } = await bootstrapInstall(false);
  assert.equal(args[0], 'install');
});
