import { decodeAudio } from '../audio/decode.ts';
import type { PcmChunk } from '../pcm.ts';
import { speakerFeatures, type SpeakerFeatures } from '../speaker/mfcc.ts';
import type { HeardWord, ReadingRecognition, ReadingRecognizer } from './reading-recognition.ts';
import { runTool } from './run-tool.ts';

const RENDER_TIMEOUT_MS = 20_000;
const FRAME_SECONDS = 0.01;

/**
 * Mandarin reading check without a Mandarin recogniser: each expected phrase is rendered
 * with espeak-ng (`cmn`) and searched for in the reading by subsequence dynamic time
 * warping over normalised MFCCs. A phrase counts as heard when it matches the reading
 * better than every decoy phrase (other words of the challenge list, rendered the same
 * way) — evidence that the reading sounds like the phrase, not that its words were
 * recognised: the `acoustic` assurance level.
 */
export class EspeakAcousticMatcher implements ReadingRecognizer {
  readonly language = 'zh';
  readonly #binary: string;
  readonly #voice: string;

  constructor(options: { binary?: string; voice?: string } = {}) {
    this.#binary = options.binary ?? 'espeak-ng';
    this.#voice = options.voice ?? 'cmn';
  }

  async recognise(pcm: PcmChunk, expected: readonly string[], options: { signal?: AbortSignal; decoys?: readonly string[] } = {}): Promise<ReadingRecognition> {
    const reading = speakerFeatures(pcm);
    const decoys = options.decoys ?? [];
    const decoyMatches = await Promise.all(decoys.map(async (d) => subsequenceDistance(await this.#render(d, options.signal), reading)));
    // The statement is long: its decoy is the decoy phrases read one after another.
    const decoyStatement = decoys.length ? subsequenceDistance(await this.#render(decoys.join('，'), options.signal), reading) : null;
    const words: HeardWord[] = [];
    for (const [index, phrase] of expected.entries()) {
      const match = subsequenceDistance(await this.#render(phrase, options.signal), reading);
      const rivals = index === 0 && decoyStatement ? [decoyStatement] : decoyMatches;
      const heard = match.distance < Infinity && rivals.length > 0 && rivals.every((r) => match.distance < r.distance);
      words.push({
        word: phrase,
        heard,
        weight: 1,
        distance: Math.round(match.distance * 1000) / 1000,
        start: heard ? match.startFrame * FRAME_SECONDS : null,
        end: heard ? match.endFrame * FRAME_SECONDS : null,
      });
    }
    return { level: 'acoustic', method: 'espeak-ng-cmn-dtw', modelVersion: `espeak-ng:${this.#voice}`, words };
  }

  async #render(text: string, signal?: AbortSignal): Promise<SpeakerFeatures> {
    const wav = await runTool(this.#binary, ['-v', this.#voice, '--stdout', text], null, { timeoutMs: RENDER_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    return speakerFeatures(await decodeAudio(new Uint8Array(wav), { sampleRate: 16_000 }));
  }
}

interface SubsequenceMatch {
  /** Mean per-frame distance along the best path. */
  readonly distance: number;
  /** Voiced-frame indices of the reading where the match starts and ends (approximate times). */
  readonly startFrame: number;
  readonly endFrame: number;
}

/** Best alignment of the whole template to any stretch of the reading (open begin and end). */
export function subsequenceDistance(template: SpeakerFeatures, reading: SpeakerFeatures): SubsequenceMatch {
  const m = template.frames;
  const n = reading.frames;
  const dims = template.dims;
  if (m === 0 || n === 0) return { distance: Infinity, startFrame: 0, endFrame: 0 };
  let previous = new Float64Array(n);
  let current = new Float64Array(n);
  let previousStart = new Int32Array(n);
  let currentStart = new Int32Array(n);
  const frameDistance = (i: number, j: number) => {
    let sum = 0;
    for (let d = 0; d < dims; d++) {
      const diff = template.data[i * dims + d]! - reading.data[j * dims + d]!;
      sum += diff * diff;
    }
    return Math.sqrt(sum / dims);
  };
  for (let j = 0; j < n; j++) {
    previous[j] = frameDistance(0, j);
    previousStart[j] = j;
  }
  for (let i = 1; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let best = previous[j]!;
      let start = previousStart[j]!;
      if (j > 0 && previous[j - 1]! < best) {
        best = previous[j - 1]!;
        start = previousStart[j - 1]!;
      }
      if (j > 0 && current[j - 1]! < best) {
        best = current[j - 1]!;
        start = currentStart[j - 1]!;
      }
      current[j] = best + frameDistance(i, j);
      currentStart[j] = start;
    }
    [previous, current] = [current, previous];
    [previousStart, currentStart] = [currentStart, previousStart];
  }
  let end = 0;
  for (let j = 1; j < n; j++) if (previous[j]! < previous[end]!) end = j;
  return { distance: previous[end]! / m, startFrame: previousStart[end]!, endFrame: end };
}
