/**
 * Trains the speaker-verification background model (models/speaker-ubm.gmm) on half of the
 * LibriSpeech pool speakers in ../shared/data/librispeech/pool; the other half stay unseen,
 * as impostors for `npm run bench -- consent`. Writes models/speaker-ubm.json naming the
 * speakers used. Run: node --disable-warning=ExperimentalWarning scripts/train-speaker-ubm.ts [--components 64]
 */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { decodeAudioFile } from '../src/engine/audio/decode.ts';
import { encodeGmm } from '../src/engine/speaker/diagonal-gmm.ts';
import { speakerFeatures, type SpeakerFeatures } from '../src/engine/speaker/mfcc.ts';
import { trainUbm } from '../src/engine/speaker/ubm-training.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const pool = `${root}../shared/data/librispeech/pool/`;
const args = process.argv.slice(2);
const components = Number(args[args.indexOf('--components') + 1] ?? 64) || 64;
const iterations = 8;

const files = (await readdir(pool)).filter((f) => f.endsWith('.flac')).sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
if (files.length < 100) throw new Error(`expected the LibriSpeech pool (126 speakers) in ${pool}, found ${files.length} files`);
// Every other speaker in numeric order: both halves mix sexes and chapters alike.
const training = files.filter((_, i) => i % 2 === 0);

const features: SpeakerFeatures[] = [];
let seconds = 0;
for (const file of training) {
  const audio = await decodeAudioFile(`${pool}${file}`, { sampleRate: 16_000 });
  seconds += audio.samples.length / audio.sampleRate;
  features.push(speakerFeatures(audio));
}
process.stderr.write(
  `training a ${components}-component UBM on ${training.length} speakers, ${seconds.toFixed(0)} s, ${features.reduce((n, f) => n + f.frames, 0)} voiced frames\n`,
);
const gmm = trainUbm(features, components, iterations, (line) => process.stderr.write(`${line}\n`));
const bytes = encodeGmm(gmm);
await writeFile(`${root}models/speaker-ubm.gmm`, bytes);
const manifest = {
  model: 'speaker-ubm',
  description: 'Diagonal GMM universal background model over 19 MFCCs + deltas (src/engine/speaker), for consent speaker verification',
  components: gmm.components,
  dims: gmm.dims,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  trainedOn: {
    corpus: 'LibriSpeech train-clean-100 (pool of ../shared/data)',
    licence: 'CC BY 4.0',
    seconds: Math.round(seconds),
    speakers: training.map((f) => f.split('-')[0]),
  },
  trainedBy: 'scripts/train-speaker-ubm.ts',
};
await writeFile(`${root}models/speaker-ubm.json`, `${JSON.stringify(manifest, null, 2)}\n`);
process.stderr.write(`wrote models/speaker-ubm.gmm (${bytes.byteLength} bytes) and models/speaker-ubm.json\n`);
