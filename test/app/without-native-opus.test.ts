import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, runNode } from '../support/spawn-node.ts';

/**
 * On a host without a compiler npm drops the optional native @discordjs/opus; the
 * type check and the Discord voice path must not need it (the service uses opusscript).
 * These hold that on hosts that do have the addon, so CI cannot hide a regression.
 */
const HIDE = fileURLToPath(new URL('../support/hide-native-opus.ts', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

/**
 * `vitest run …` as a run of its own, with `preload` imported first in every process it starts
 * (NODE_OPTIONS reaches its workers). This runner's own VITEST_* variables would confuse it.
 */
function runTestRun(preload: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: `--import=${preload}`, NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', VITEST, 'run', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function nativeOpusInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@discordjs/opus');
    return true;
  } catch {
    return false;
  }
}

test('the type check does not depend on @discordjs/opus: its declarations are not part of the program', async () => {
  // Where the addon is installed, any import TypeScript resolves pulls its typings into
  // the program; where it is not, that same import is the "Cannot find module" error.
  const listed = await runNode([TSC, '-p', 'tsconfig.json', '--listFilesOnly'], {});
  assert.equal(listed.code, 0, listed.stderr + listed.stdout.slice(-2000));
  const files = listed.stdout.split('\n').filter(Boolean);
  assert.ok(
    files.some((file) => file.endsWith('test/fakes/discord/opus-fixtures.ts')),
    'the listing covers the project',
  );
  assert.deepEqual(
    files.filter((file) => file.includes('/@discordjs/opus/')),
    [],
  );
});

test('with @discordjs/opus unresolvable, the service picks opusscript and Discord voice plays and receives', {
  skip: !nativeOpusInstalled() /* the addon is absent here: every test run is this case */,
}, async () => {
  const probe = await runNode(
    [
      '--import',
      HIDE,
      '--input-type=module',
      '-e',
      `
    import { createRequire } from 'node:module';
    await import('@discordjs/opus').then(() => { throw new Error('@discordjs/opus is still importable'); }, () => undefined);
    try { createRequire(${JSON.stringify(`${REPO_ROOT}package.json`)})('@discordjs/opus'); throw new Error('still requirable'); } catch (error) { if (String(error).includes('still')) throw error; }
    // The whole Discord adapter loads (a static import of the addon anywhere in it would fail here).
    await import(${JSON.stringify(`${REPO_ROOT}src/bots/discord/discord-adapter.ts`)});
    const { opusBinding } = await import(${JSON.stringify(`${REPO_ROOT}src/engine/audio/opus-codec.ts`)});
    process.stdout.write(opusBinding());
  `,
    ],
    {},
  );
  assert.equal(probe.code, 0, probe.stderr);
  assert.equal(probe.stdout, 'wasm');
  // The real @discordjs/voice client against the fake voice server: join, playback, receiving decoded with opusscript.
  const voice = await runTestRun(HIDE, ['-t', 'joinVoiceChannel|AudioPlayer plays|receiver', 'test/fakes/discord/voice.test.ts']);
  assert.equal(voice.code, 0, voice.stdout.slice(-3000) + voice.stderr.slice(-2000));
  assert.match(voice.stdout, /Tests\s+3 passed\b/);
});
