import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { runNode } from '../support/spawn-node.ts';
import { speakerFiles } from '../support/speech-data.ts';

/**
 * The operator CLI as a person uses it, on a machine where nothing else runs: each
 * command is its own process; `clone --wait` brings up Redis and a worker for itself.
 * The backend is the default one (classic).
 */
test('consent grant → sample add → clone --wait → speak → revoke, with --json and exit codes', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-cli-'));
  // The sample is a LibriSpeech speaker who never read our consent statement: verification off, explicitly.
  const env = { VOCALIS_DATA_DIR: dataDir, VOCALIS_LOG_LEVEL: 'silent', VOCALIS_CONSENT_VERIFICATION: 'off' };
  const vocalis = (...args: string[]) => runNode(['src/cli/main.ts', ...args], env);
  try {
    assert.equal((await vocalis()).code, 2, 'no command is a usage error');
    assert.equal((await vocalis('consent', 'grant')).code, 2, '--user is required');
    const show = await vocalis('consent', 'show', '--user', 'alice');
    assert.equal(show.code, 1, 'an unknown user has no consent');

    const grant = await vocalis('consent', 'grant', '--user', 'alice', '--json');
    assert.equal(grant.code, 0, grant.stderr);
    const granted = JSON.parse(grant.stdout) as { receipt: { consentId: string; textSha256: string }; challenge: string; script: string[] };
    assert.match(granted.receipt.textSha256, /^[0-9a-f]{64}$/);
    assert.ok(granted.script[0]?.includes(granted.challenge));

    const early = await vocalis('speak', '--user', 'alice', '--out', join(dataDir, 'x.ogg'), 'too early');
    assert.equal(early.code, 1);
    assert.match(early.stderr, /consent is granted/);

    const files = speakerFiles('3331');
    const added = await vocalis('sample', 'add', '--user', 'alice', '--json', ...files);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse(added.stdout) as { complete: boolean }).complete, true);

    const clone = await vocalis('clone', '--user', 'alice', '--wait', '--json');
    assert.equal(clone.code, 0, clone.stderr);
    const cloned = JSON.parse(clone.stdout) as { job: { state: string; result: Record<string, number> } };
    assert.equal(cloned.job.state, 'completed');
    assert.ok(Number.isFinite(cloned.job.result['speechSeconds']));

    const out = join(dataDir, 'hello.ogg');
    const speak = await vocalis('speak', '--user', 'alice', '--out', out, '--json', 'Hello everyone, this is a test of my synthetic voice.');
    assert.equal(speak.code, 0, speak.stderr);
    const figures = JSON.parse(speak.stdout) as { seconds: number };
    const probed = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', out]).toString());
    assert.ok(Math.abs(probed - figures.seconds) < 0.05, `ffprobe ${probed} s vs reported ${figures.seconds} s`);
    assert.ok(probed > 1.5, 'a ten-word sentence lasts more than 1.5 s');

    const refusedText = await vocalis('speak', '--user', 'alice', '--out', out, `My confirmation phrase is ${granted.challenge}`);
    assert.equal(refusedText.code, 1, "a clone may never say its owner's challenge");

    assert.equal((await vocalis('audit', 'verify')).code, 0);
    const revoke = await vocalis('consent', 'revoke', '--user', 'alice', '--json');
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.ok((JSON.parse(revoke.stdout) as { receipt: { deleted: { files: number } } }).receipt.deleted.files > 0);
    assert.equal((await vocalis('speak', '--user', 'alice', '--out', out, 'gone')).code, 1);

    // Tamper with the ledger: verify names the event and exits 1.
    const db = new DatabaseSync(join(dataDir, 'vocalis.sqlite'));
    db.prepare("UPDATE audit_events SET actor = 'operator' WHERE seq = 2").run();
    db.close();
    const verify = await vocalis('audit', 'verify', '--json');
    assert.equal(verify.code, 1);
    assert.equal((JSON.parse(verify.stdout) as { firstBadSeq: number }).firstBadSeq, 2);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
