import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { judgeReading } from '../src/consent/verification/reading-policy.ts';
import { decodeAudio, decodeAudioFile } from '../src/engine/audio/decode.ts';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { SphinxRecognizer, spokenWords } from '../src/engine/recognition/sphinx-recognizer.ts';
import type { BenchFigure } from './types.ts';

/**
 * Phrase recognition on Allison's prompts, whose exact text is known: they stand in for a
 * statement read by a real person. A reading is accepted by the consent rule for the
 * statement (src/consent/verification/reading-policy.ts). False accepts: the same audio
 * against another prompt's text, another speaker (LibriSpeech) against a prompt's text,
 * and synthesised noise and music against a prompt's text.
 */
export async function recognitionFigures(data: string): Promise<BenchFigure[]> {
  const recognizer = new SphinxRecognizer();
  const rows = readFileSync(`${data}/allison-prompts/transcripts.tsv`, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t') as [string, string])
    .filter(([, text]) => spokenWords(text ?? '').length >= 4);
  const accepted = (words: Awaited<ReturnType<SphinxRecognizer['recognise']>>['words']) => judgeReading(words, []).accepted;

  let own = 0;
  let other = 0;
  let ms = 0;
  let audioSeconds = 0;
  const audios: PcmChunk[] = [];
  for (const [file] of rows) audios.push(await decodeAudioFile(`${data}/allison-prompts/${file}`, { sampleRate: 16_000 }));
  for (let i = 0; i < rows.length; i++) {
    const audio = audios[i]!;
    const t0 = performance.now();
    if (accepted((await recognizer.recognise(audio, spokenWords(rows[i]![1]))).words)) own++;
    ms += performance.now() - t0;
    audioSeconds += audio.samples.length / audio.sampleRate;
    // Another prompt's text, far enough down the list not to share its opening words.
    const otherText = rows[(i + Math.floor(rows.length / 2)) % rows.length]![1];
    if (accepted((await recognizer.recognise(audio, spokenWords(otherText))).words)) other++;
  }

  const librispeech = ['1688', '1998', '2033', '2414', '3005', '3331', '367'];
  let speakerFa = 0;
  let speakerTrials = 0;
  for (const [k, id] of librispeech.entries()) {
    const dir = `${data}/librispeech/test-other/${id}`;
    for (const n of [0, 1, 2]) {
      const file = spawnSync('sh', ['-c', `ls ${dir}/*.flac | sort | sed -n ${n + 1}p`], { encoding: 'utf8' }).stdout.trim();
      const audio = await decodeAudioFile(file, { sampleRate: 16_000 });
      const text = rows[(k * 3 + n) % rows.length]![1];
      speakerTrials++;
      if (accepted((await recognizer.recognise(audio, spokenWords(text))).words)) speakerFa++;
    }
  }

  let noiseFa = 0;
  let noiseTrials = 0;
  for (const source of [NOISE, MUSIC]) {
    const audio = await synthesise(source);
    for (let i = 0; i < 10; i++) {
      noiseTrials++;
      if (accepted((await recognizer.recognise(audio, spokenWords(rows[(i * 7) % rows.length]![1]))).words)) noiseFa++;
    }
  }

  return [
    { metric: 'reading accepted, right text (Allison)', value: (100 * own) / rows.length, unit: `% of ${rows.length}` },
    { metric: 'false accept, another prompt text', value: (100 * other) / rows.length, unit: `% of ${rows.length}` },
    { metric: 'false accept, another speaker/text', value: (100 * speakerFa) / speakerTrials, unit: `% of ${speakerTrials}` },
    { metric: 'false accept, noise and music', value: (100 * noiseFa) / noiseTrials, unit: `% of ${noiseTrials}` },
    { metric: 'recognition time per audio second', value: ms / 1000 / audioSeconds, unit: 's/s' },
  ];
}

/** Pink noise, 6 s. */
export const NOISE = 'anoisesrc=color=pink:amplitude=0.3:duration=6';
/** A few bars of chords with a beat, 6 s: music, not speech. */
export const MUSIC =
  "aevalsrc='(0.2*sin(2*PI*(220+55*floor(mod(t,2)))*t)+0.15*sin(2*PI*330*t)+0.1*sin(2*PI*440*t*(1+0.01*sin(6*t))))*(0.6+0.4*sin(2*PI*2*t))':s=16000:d=6";

export async function synthesise(filter: string): Promise<PcmChunk> {
  const out = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', filter, '-ac', '1', '-ar', '16000', '-f', 'wav', 'pipe:1'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`ffmpeg could not synthesise ${filter}`);
  return decodeAudio(new Uint8Array(out.stdout), { sampleRate: 16_000 });
}
