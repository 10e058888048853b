import assert from 'node:assert/strict';
import { test } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { decodeGmm, encodeGmm } from '../../src/engine/speaker/diagonal-gmm.ts';
import { DEFAULT_UBM_FILE, GmmUbmSpeakerModel } from '../../src/engine/speaker/gmm-ubm-model.ts';
import { EnrolmentMismatchError } from '../../src/engine/speaker/speaker-model.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { sharedFile, speakerFiles } from '../support/speech-data.ts';

const RATE = 16_000;
const threshold = loadConfig({}).consentVerification.speakerThreshold;

async function speech(files: readonly string[]): Promise<Float32Array> {
  const parts = await Promise.all(files.map(async (f) => (await decodeAudioFile(f, { sampleRate: RATE })).samples));
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

test('real speech: 60 s of a speaker accepts their own unseen 3 s and 10 s clips and refuses other speakers at the default threshold', async () => {
  const model = await GmmUbmSpeakerModel.load();
  const owner = await speech(speakerFiles('3331'));
  // Enrolled on the first minute; tested on what comes after it (not seen by the enrolment).
  const enrolment = await model.enrol(pcm(owner.subarray(0, 60 * RATE)));
  const rest = owner.subarray(60 * RATE);
  assert.ok(rest.length >= 10 * RATE, 'speaker 3331 has more than 70 s');
  for (const seconds of [3, 10]) {
    const own = await model.score(enrolment, pcm(rest.subarray(0, seconds * RATE)));
    assert.ok(own.score >= threshold, `own ${seconds} s clip scores ${own.score.toFixed(2)} (threshold ${threshold})`);
    for (const other of ['1688', '367', '2414']) {
      const clip = (await speech(speakerFiles(other).slice(0, 2))).subarray(0, seconds * RATE);
      const theirs = await model.score(enrolment, pcm(clip));
      assert.ok(theirs.score < threshold, `speaker ${other}'s ${seconds} s clip scores ${theirs.score.toFixed(2)} (threshold ${threshold})`);
    }
  }
  // Pool speakers the background model never saw (models/speaker-ubm.json lists those it did).
  const seen = new Set(
    (JSON.parse(readFileSync(new URL('../../models/speaker-ubm.json', import.meta.url), 'utf8')) as { trainedOn: { speakers: string[] } }).trainedOn.speakers,
  );
  const unseen = readdirSync(sharedFile('librispeech/pool'))
    .filter((f) => f.endsWith('.flac') && !seen.has(f.split('-')[0]!))
    .slice(0, 5);
  assert.equal(unseen.length, 5);
  for (const file of unseen) {
    const pool = await speech([sharedFile(`librispeech/pool/${file}`)]);
    const score = (await model.score(enrolment, pcm(pool.subarray(0, 3 * RATE)))).score;
    assert.ok(score < threshold, `unseen pool speaker ${file} scores ${score.toFixed(2)}`);
  }
});

test('a voiceprint from the 10 s reading and one grown to 60 s both tell the owner from a stranger; one made by another model is refused', async () => {
  const model = await GmmUbmSpeakerModel.load();
  const owner = await speech(speakerFiles('1998'));
  const first = await model.enrol(pcm(owner.subarray(0, 10 * RATE)));
  const grown = await model.enrol(pcm(owner.subarray(10 * RATE, 60 * RATE)), first);
  const probe = pcm(owner.subarray(62 * RATE, 72 * RATE));
  const stranger = pcm((await speech(speakerFiles('2033').slice(0, 2))).subarray(0, 10 * RATE));
  for (const [name, voiceprint] of [
    ['10 s', first],
    ['60 s', grown],
  ] as const) {
    const own = (await model.score(voiceprint, probe)).score;
    const other = (await model.score(voiceprint, stranger)).score;
    assert.ok(own >= threshold && other < threshold, `${name} voiceprint: owner ${own.toFixed(2)}, stranger ${other.toFixed(2)} (threshold ${threshold})`);
  }
  assert.ok(grown.byteLength === first.byteLength && !Buffer.from(grown).equals(Buffer.from(first)), 'the clip was folded into the same-size voiceprint');

  const ubm = decodeGmm(readFileSync(DEFAULT_UBM_FILE));
  const other = new GmmUbmSpeakerModel(decodeGmm(encodeGmm(ubm)), 'another-model');
  await assert.rejects(other.score(grown, probe), EnrolmentMismatchError);
});

test('real speech: 3 s clips against a voiceprint of only the 10 s reading — the first clips after the statement — are told apart for all 7 speakers', async () => {
  const model = await GmmUbmSpeakerModel.load();
  const speakers = ['1688', '1998', '2033', '2414', '3005', '3331', '367'];
  const all = new Map<string, Float32Array>();
  for (const id of speakers) all.set(id, await speech(speakerFiles(id)));
  let own = 0;
  let owners = 0;
  let others = 0;
  let strangers = 0;
  for (const [id, samples] of all) {
    const reading = await model.enrol(pcm(samples.subarray(0, 10 * RATE)));
    for (let k = 0; k < 6; k++) {
      owners++;
      if ((await model.score(reading, pcm(samples.subarray((12 + 3 * k) * RATE, (15 + 3 * k) * RATE)))).score >= threshold) own++;
    }
    for (const [other, theirs] of all) {
      if (other === id) continue;
      strangers++;
      if ((await model.score(reading, pcm(theirs.subarray(20 * RATE, 23 * RATE)))).score >= threshold) others++;
    }
  }
  // Scores are normalised by how much speech the voiceprint holds; without that a 10 s voiceprint
  // refuses about a third of its owner's 3 s clips at the same threshold.
  assert.ok(own >= owners - 2, `owners accepted: ${own} of ${owners}`);
  assert.ok(others <= 2, `strangers accepted: ${others} of ${strangers}`);
});
