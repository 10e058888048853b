import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { runNode } from '../support/spawn-node.ts';
import { fliteWav } from '../support/spoken-audio.ts';

/**
 * The CLI with consent verification on (the default): a flite voice reads the statement
 * with the live phrase, then the script; another voice's file is refused; `consent show`
 * prints what was verified; revoking erases the voiceprint with the rest.
 */
test('required mode: statement with the live phrase, then the script; another voice refused; consent show prints the evidence', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-cli-verified-'));
  const dataDir = join(dir, 'data');
  const env = { VOCALIS_DATA_DIR: dataDir, VOCALIS_LOG_LEVEL: 'silent', VOCALIS_CONSENT_VERIFICATION: 'required' };
  const vocalis = (...args: string[]) => runNode(['src/cli/main.ts', ...args], env);
  try {
    const grant = await vocalis('consent', 'grant', '--user', 'sam', '--json');
    assert.equal(grant.code, 0, grant.stderr);
    const granted = JSON.parse(grant.stdout) as { receipt: { verification: string }; challenge: string; script: string[] };
    assert.equal(granted.receipt.verification, 'required');

    const file = (name: string, bytes: Uint8Array) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    };
    const script = granted.script.slice(1);
    const reading = file('statement.wav', fliteWav('slt', granted.script[0]!));
    const stranger = file('stranger.wav', fliteWav('awb', script.slice(0, 4).join(' ')));
    const rest = [0, 1, 2, 3].map((i) => file(`script-${i}.wav`, fliteWav('slt', script.slice(i * 7, i * 7 + 7).join(' '))));

    // The script before the statement: the first file must be the reading.
    const early = await vocalis('sample', 'add', '--user', 'sam', '--json', rest[0]!);
    assert.equal(early.code, 1);
    assert.match(early.stdout, /reading_not_heard/);

    const added = await vocalis('sample', 'add', '--user', 'sam', '--json', reading, stranger, ...rest);
    const clips = JSON.parse(added.stdout) as { clips: Array<{ kind: string; verdict: { problems: Array<{ code: string }> } }>; complete: boolean };
    assert.deepEqual(
      clips.clips.map((c) => c.kind),
      ['stored', 'refused', 'stored', 'stored', 'stored', 'stored'],
      added.stdout.slice(0, 2000),
    );
    assert.deepEqual(
      clips.clips[1]!.verdict.problems.map((p) => p.code),
      ['speaker_mismatch'],
    );
    assert.equal(clips.complete, true, 'the statement and the script make a complete sample');

    const show = await vocalis('consent', 'show', '--user', 'sam');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /Verification: required; statement read .* assurance recognised \(pocketsphinx/);
    for (const word of granted.challenge.split(' ')) assert.match(show.stdout, new RegExp(`${word}@\\d+\\.\\d\\d-\\d+\\.\\d\\ds`));
    assert.match(show.stdout, /Speaker model: gmm-ubm-64x38 [0-9a-f]{12}/);
    assert.match(show.stdout, /Clip matches \(threshold [\d.]+\): clip_\w+ [\d.]+, clip_\w+ [\d.]+, clip_\w+ [\d.]+, clip_\w+ [\d.]+; mismatches refused: 1/);

    const revoke = await vocalis('consent', 'revoke', '--user', 'sam');
    assert.equal(revoke.code, 0, revoke.stderr);
    const users = join(dataDir, 'users');
    assert.deepEqual(existsSync(users) ? readdirSync(users) : [], [], 'revoking erased the clips and the voiceprint');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
