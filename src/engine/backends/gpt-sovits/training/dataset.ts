/**
 * The training set from a consented sample: the sample at 32 kHz cut at pauses (2–10 s, the audio
 * pipeline's slicer with upstream's −34 dB / 300 ms settings), script sentences aligned to the
 * segments, a held-out slice kept out of training for checkpoint selection, and upstream's list
 * format `path|speaker|lang|text` with 16-bit 32 kHz WAVs. The consent statement (the script's
 * first sentence) is never trained on: the voice should not practise the one sentence it must
 * never say.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import type { ReadingScript } from '../../../../consent/reading-script.ts';
import type { SampleSource } from '../../../backend.ts';
import { sliceAtPauses } from '../../../audio/slicer.ts';
import { encodeWav } from '../../../audio/wav.ts';
import type { PcmChunk } from '../../../pcm.ts';
import { alignSentences } from './segment-sentences.ts';
import { EXP_NAME } from './layout.ts';
import type { WorkLayout } from './layout.ts';

export const TRAIN_RATE = 32_000;
/** Upstream's list takes zh ja en ko yue; the inference side speaks zh and en only. */
const LIST_LANGUAGES = new Set(['zh', 'en']);
/** Upstream drops clips outside 0.6–54 s. */
const MIN_CLIP_SECONDS = 0.6;
const MAX_CLIP_SECONDS = 54;

export interface HeldOutItem {
  readonly text: string;
  /** The user's own reading of it, at 32 kHz. */
  readonly pcm: PcmChunk;
}

export interface Dataset {
  readonly language: string;
  readonly trainItems: number;
  readonly trainSeconds: number;
  readonly heldOut: readonly HeldOutItem[];
}

export function listLanguage(script: ReadingScript): string {
  const lang = script.language.toLowerCase().split(/[-_]/)[0] ?? '';
  if (!LIST_LANGUAGES.has(lang))
    throw new BackendError('unsupported_language', `GPT-SoVITS fine-tuning has no language "${script.language}"`, {
      languages: [...LIST_LANGUAGES].join(', '),
    });
  return lang;
}

/** A list-file field: no separators, no line breaks. */
function clean(text: string): string {
  return text
    .replace(/[|\r\n\t]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export async function buildDataset(sample: SampleSource, work: WorkLayout, heldOutWanted: number, signal: AbortSignal): Promise<Dataset> {
  const script = sample.script;
  if (!script || script.sentences.length < 2) {
    throw new BackendError(
      'script_required',
      'GPT-SoVITS fine-tuning needs a sample read from the reading script (transcripts come from it; there is no speech recognition)',
    );
  }
  const language = listLanguage(script);
  const pcm = await sample.read(TRAIN_RATE);
  signal.throwIfAborted();
  const slices = sliceAtPauses(pcm, { minSeconds: 2, maxSeconds: 10 });
  const aligned = alignSentences(
    slices.map((s) => s.end - s.start),
    script.sentences,
  );
  const usable = aligned.filter((a) => {
    const slice = slices[a.segment]!;
    const seconds = slice.end - slice.start;
    return !a.sentences.includes(0) && seconds >= MIN_CLIP_SECONDS && seconds <= MAX_CLIP_SECONDS;
  });
  // Held out: single-sentence segments of 2–8 s, taken from the end (the user is warmed up by then).
  const heldOutIdx = new Set<number>();
  for (let i = usable.length - 1; i >= 0 && heldOutIdx.size < heldOutWanted; i--) {
    const a = usable[i]!;
    const slice = slices[a.segment]!;
    const seconds = slice.end - slice.start;
    if (a.sentences.length === 1 && seconds >= 2 && seconds <= 8 && usable.length - heldOutIdx.size > 4) heldOutIdx.add(i);
  }
  await mkdir(work.wavDir, { recursive: true, mode: 0o700 });
  const lines: string[] = [];
  const heldOut: HeldOutItem[] = [];
  let trainSeconds = 0;
  for (let i = 0; i < usable.length; i++) {
    signal.throwIfAborted();
    const a = usable[i]!;
    const slice = slices[a.segment]!;
    const text = clean(a.sentences.map((s) => script.sentences[s]!).join(' '));
    if (heldOutIdx.has(i)) {
      heldOut.push({ text, pcm: slice.pcm });
      continue;
    }
    const name = `seg_${String(i).padStart(3, '0')}.wav`;
    const path = join(work.wavDir, name);
    await writeFile(path, encodeWav(slice.pcm, 16), { mode: 0o600 });
    lines.push(`${path}|${EXP_NAME}|${language}|${text}`);
    trainSeconds += slice.end - slice.start;
  }
  if (lines.length < 2) throw new BackendError('sample_too_short', 'too few usable segments in the sample to fine-tune GPT-SoVITS');
  await writeFile(work.listFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { language, trainItems: lines.length, trainSeconds, heldOut };
}
