import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, test } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { readingScript } from '../../src/consent/reading-script.ts';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { OnnxEmbeddingSpeakerModel, SpeakerModelLoadError, type OnnxEmbeddingSettings } from '../../src/engine/speaker/onnx-embedding-model.ts';
import { EnrolmentMismatchError } from '../../src/engine/speaker/speaker-model.ts';
import { startRuntime } from '../support/runtime-fixture.ts';
import { writeSpeakerEmbeddingGraph } from '../support/speaker-embedding-graph.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { fliteWav } from '../support/spoken-audio.ts';
import { createToneBackend } from '../support/tone-backend.ts';

/**
 * An operator's ONNX speaker-embedding model in place of the built-in GMM-UBM. The model
 * here is a small untrained stand-in (test/support/speaker-embedding-graph.ts) taking
 * WeSpeaker-style fbank80. Its calibration puts the default threshold (0.6) between the
 * cosines it gives these recordings' own 10 s clips (0.96–0.98) and other speakers'
 * (0.86–0.94 against 50 s), as an operator would set it from `npm run bench -- consent --speaker-onnx`.
 */
const RATE = 16_000;
const dir = mkdtempSync(join(tmpdir(), 'vocalis-onnx-speaker-'));
const modelFile = writeSpeakerEmbeddingGraph(join(dir, 'speaker.onnx'));
const CALIBRATION = { impostor: 0.88, target: 0.99 };
const settings: OnnxEmbeddingSettings = { path: modelFile, features: { kind: 'fbank', melBins: 80 }, windowFrames: 0, calibration: CALIBRATION };
const threshold = loadConfig({}).consentVerification.speakerThreshold;
const onnxEnv = {
  VOCALIS_SPEAKER_MODEL: 'onnx',
  VOCALIS_SPEAKER_ONNX_PATH: modelFile,
  VOCALIS_SPEAKER_ONNX_FEATURES: 'fbank80',
  VOCALIS_SPEAKER_ONNX_CALIBRATION: `${CALIBRATION.impostor},${CALIBRATION.target}`,
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function speech(files: readonly string[]): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const f of files) parts.push((await decodeAudioFile(f, { sampleRate: RATE })).samples);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function pcm(samples: Float32Array): PcmChunk {
  return { samples, sampleRate: RATE };
}

test('real speech: 50 s of a speaker enrolled through the ONNX model accepts their own unseen 10 s clips and refuses other speakers; the voiceprint grows and is bound to the model', async () => {
  const model = await OnnxEmbeddingSpeakerModel.load(settings);
  try {
    assert.equal(model.info.version, createHash('sha256').update(readFileSync(modelFile)).digest('hex'), "the version is the model file's SHA-256");
    assert.match(model.info.name, /^onnx-embedding-192 fbank80 window=whole calibration=0\.88,0\.99$/);
    const owner = await speech(speakerFiles('3331'));
    // Enrolled on the first 50 s (the recordings have 65–83 s); tested on what comes after.
    const enrolment = await model.enrol(pcm(owner.subarray(0, 50 * RATE)));
    const own: number[] = [];
    for (let start = 50 * RATE; start + 10 * RATE <= owner.length; start += 10 * RATE)
      own.push((await model.score(enrolment, pcm(owner.subarray(start, start + 10 * RATE)))).score);
    assert.ok(own.length >= 2, 'speaker 3331 has two unseen 10 s clips');
    const others: number[] = [];
    for (const other of ['1688', '367', '2414', '1998']) {
      const theirs = await speech(speakerFiles(other).slice(0, 4));
      const match = await model.score(enrolment, pcm(theirs.subarray(0, 10 * RATE)));
      assert.ok(match.speechSeconds > 5, 'the clip has speech to judge');
      others.push(match.score);
    }
    for (const score of own) assert.ok(score >= threshold, `own clip scores ${score.toFixed(2)} (threshold ${threshold})`);
    for (const score of others) assert.ok(score < threshold, `another speaker scores ${score.toFixed(2)} (threshold ${threshold})`);
    assert.ok(Math.min(...own) > Math.max(...others), 'every own clip scores above every other speaker');

    // Folding in more speech keeps the voiceprint the owner's, with more weight behind it.
    const grown = await model.enrol(pcm(owner.subarray(50 * RATE, 60 * RATE)), enrolment);
    assert.equal(grown.byteLength, enrolment.byteLength);
    assert.notDeepEqual(grown, enrolment);
    assert.ok((await model.score(grown, pcm(owner.subarray(60 * RATE, 70 * RATE)))).score >= threshold);
    // Silence adds nothing and is not speech to judge.
    const silence = await model.score(enrolment, pcm(new Float32Array(5 * RATE)));
    assert.equal(silence.speechSeconds, 0);
    assert.deepEqual(await model.enrol(pcm(new Float32Array(5 * RATE)), enrolment), enrolment);

    // A voiceprint made with another model file, or the same file under another front end, is another space.
    const otherFile = writeSpeakerEmbeddingGraph(join(dir, 'other.onnx'), { seed: 99 });
    const otherModel = await OnnxEmbeddingSpeakerModel.load({ ...settings, path: otherFile });
    const windowed = await OnnxEmbeddingSpeakerModel.load({ ...settings, windowFrames: 160 });
    try {
      for (const m of [otherModel, windowed]) await assert.rejects(m.score(enrolment, pcm(owner.subarray(50 * RATE, 53 * RATE))), EnrolmentMismatchError);
    } finally {
      await otherModel.close();
      await windowed.close();
    }
  } finally {
    await model.close();
  }
});

test('a model file that is missing, not ONNX, or does not take the declared features is refused at start with what to fix', async () => {
  await assert.rejects(
    OnnxEmbeddingSpeakerModel.load({ ...settings, path: join(dir, 'absent.onnx') }),
    (e: Error) => e instanceof SpeakerModelLoadError && /cannot be read.*VOCALIS_SPEAKER_ONNX_PATH/.test(e.message),
  );
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, 'not a model at all');
  await assert.rejects(
    OnnxEmbeddingSpeakerModel.load({ ...settings, path: garbage }),
    (e: Error) => e instanceof SpeakerModelLoadError && /is not a loadable ONNX model/.test(e.message),
  );
  await assert.rejects(
    OnnxEmbeddingSpeakerModel.load({ ...settings, features: { kind: 'mel', melBins: 40 } }),
    (e: Error) => e instanceof SpeakerModelLoadError && /does not take mel40 features as \[1, frames, 40\] \(VOCALIS_SPEAKER_ONNX_FEATURES\)/.test(e.message),
  );
  const runtimeStart = startRuntime({ needs: { queue: false }, env: { ...onnxEnv, VOCALIS_SPEAKER_ONNX_PATH: garbage } });
  await assert.rejects(runtimeStart, SpeakerModelLoadError, 'the runtime does not start on a broken model');
});

test('consent end to end with the ONNX model: the reader is enrolled (encrypted), their clip is taken, another voice refused, the receipt names the model, revocation shreds the voiceprint', async () => {
  const f = await startRuntime({
    backends: [createToneBackend({ targetSpeechSeconds: 60 })],
    needs: { queue: false },
    env: { VOCALIS_CONSENT_VERIFICATION: 'required', ...onnxEnv },
  });
  try {
    const { vocalis, db } = f.runtime;
    const owner = { platform: 'telegram', platformUserId: '1001' };
    const offer = vocalis.offerConsent({ identity: owner, language: 'en', context: { platform: 'telegram', contextId: '1001' } });
    vocalis.acceptConsent({ identity: owner, consentId: offer.consent.id });
    const userId = vocalis.identify(owner).id;
    const sentences = readingScript('en', offer.consent.challenge).sentences;

    const reading = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', sentences[0]!) });
    assert.equal(reading.kind, 'stored', `the reading is taken: ${reading.verdict.problems.map((p) => p.code).join(', ')}`);
    const verified = vocalis.status(owner).verification;
    assert.equal(verified?.status, 'verified');
    if (verified?.status !== 'verified') return;
    assert.deepEqual(verified.reading.speakerModel, {
      name: 'onnx-embedding-192 fbank80 window=whole calibration=0.88,0.99',
      version: createHash('sha256').update(readFileSync(modelFile)).digest('hex'),
    });

    const userDir = join(f.dataDir, 'users', userId);
    const enrolmentFile = (readdirSync(userDir, { recursive: true }) as string[]).find((p) => p.startsWith('enrolment') && statSync(join(userDir, p)).isFile());
    assert.ok(enrolmentFile, 'the voiceprint is on disk');
    const stored = readFileSync(join(userDir, enrolmentFile));
    assert.ok(stored.byteLength > 4 * 192, 'it holds the embedding');
    assert.ok(!stored.includes(Buffer.from('EMB1')), 'only as ciphertext: no plaintext voiceprint header');

    const same = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', sentences.slice(1, 5).join(' ')) });
    assert.equal(same.kind, 'stored', `the reader's own clip is taken: ${same.verdict.problems.map((p) => p.code).join(', ')}`);
    const other = await vocalis.addClip({ identity: owner, audio: fliteWav('rms', sentences.slice(5, 9).join(' ')) });
    assert.equal(other.kind, 'refused');
    assert.deepEqual(
      other.verdict.problems.map((p) => p.code),
      ['speaker_mismatch'],
    );
    const after = vocalis.status(owner);
    assert.equal(after.sample.clips, 2);
    assert.ok(after.verification?.status === 'verified' && after.verification.clips.length === 1 && after.verification.clips[0]!.score >= threshold);
    const grant = f.runtime.ledger.events({ subject: userId, type: 'consent.reading_verified' })[0];
    assert.match(String(grant?.data['speakerModel']), /^onnx-embedding-192 fbank80 .*@[0-9a-f]{64}$/, 'the ledger names the model and its file hash');

    await vocalis.revoke({ target: owner, actor: { kind: 'operator' } });
    assert.ok(!existsSync(join(userDir, enrolmentFile)), 'the voiceprint file is gone');
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE user_id = ?').get(userId)?.['n'], 0, 'and the key that could open a copy of it');
  } finally {
    await f.close();
  }
});
