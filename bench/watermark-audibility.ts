import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '../src/engine/audio/wav.ts';
import { realFftOfSize } from '../src/engine/dsp/real-fft.ts';
import { MARK_RATE } from '../src/engine/watermark/mark-layout.ts';
import { FULL_SCALE_DB_SPL, MaskingModel, type MaskingVariant } from '../src/engine/watermark/masking-threshold.ts';

/**
 * Listening proxies for the watermark bench. Each takes the clean speech and the mark
 * alone (marked − clean), both 16 kHz, and says how far the mark is from being heard:
 *
 * - `simultaneousMasking`: the embedder's own masking model (MPEG-1 model 1 at
 *   critical-band resolution, threshold in quiet) re-run on the clean speech with frames
 *   offset by 8 ms from the embedder's, over every critical band 0–8 kHz and every
 *   frame, pauses included; or, as a stricter cross-check, Johnston's model.
 * - `peaqNmr`: an independent model after PEAQ's basic FFT ear model (ITU-R BS.1387):
 *   outer/middle-ear weighting, 0.25-Bark bands, level-dependent spreading, forward
 *   time spreading, mask 3 dB (0.25·z dB above 12 Bark) under the excitation; the
 *   figures are its Total NMR and the share of frames with a band 1.5 dB over the mask
 *   (Relative Disturbed Frames). Adapted to 16 kHz and 32 ms frames; not a certified PEAQ.
 * - `temporalLeak`: the mark where speech is absent: in pauses (4 ms blocks 50 dB under
 *   the loud part) against the threshold in quiet, and before word onsets (pre-echo).
 * - `pesqWideband`: PESQ (P.862.2) of the marked against the clean speech, through
 *   bench/pesq_scores.py in a Python venv.
 */

const FRAME = 512;
const HOP = 256;
/** Frames start half a hop off the embedder's grid: the worst case between its frames. */
const GRID_OFFSET = 128;

function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** Power spectra |X_k|² of Hann-windowed frames starting at `first`, one per hop. */
function powerFrames(x: Float32Array, first: number): Float64Array[] {
  const fft = realFftOfSize(FRAME);
  const w = hannWindow(FRAME);
  const buf = new Float64Array(FRAME);
  const re = new Float64Array(FRAME / 2 + 1);
  const im = new Float64Array(FRAME / 2 + 1);
  const frames: Float64Array[] = [];
  for (let start = first; start + FRAME <= x.length; start += HOP) {
    for (let i = 0; i < FRAME; i++) buf[i] = x[start + i]! * w[i]!;
    fft.forward(buf, re, im);
    const p = new Float64Array(FRAME / 2 + 1);
    for (let k = 0; k <= FRAME / 2; k++) p[k] = re[k]! ** 2 + im[k]! ** 2;
    frames.push(p);
  }
  return frames;
}

export interface MaskingCells {
  cells: number;
  above: number;
  /** Cells of frames within 40 dB of the loudest frame (speech), and of those, above the mask. */
  speechCells: number;
  speechAbove: number;
  /** Σ of mark-to-threshold ratios (linear) over all cells, and the largest one in dB. */
  ratioSum: number;
  worstDb: number;
}

export function simultaneousMasking(clean: Float32Array, mark: Float32Array, variant: MaskingVariant = 'mpeg1'): MaskingCells {
  const model = new MaskingModel(
    FRAME,
    MARK_RATE,
    hannWindow(FRAME).reduce((a, b) => a + b, 0),
    variant,
  );
  const speech = powerFrames(clean, GRID_OFFSET);
  const noise = powerFrames(mark, GRID_OFFSET);
  const totals = speech.map((p) => p.reduce((a, b) => a + b, 0));
  const loudest = Math.max(...totals);
  const threshold = new Float64Array(model.bands);
  const out: MaskingCells = { cells: 0, above: 0, speechCells: 0, speechAbove: 0, ratioSum: 0, worstDb: -Infinity };
  for (let f = 0; f < speech.length; f++) {
    model.maskedThreshold(speech[f]!, threshold);
    const isSpeech = totals[f]! >= loudest * 1e-4;
    for (let b = 0; b < model.bands; b++) {
      let e = 0;
      for (let k = model.firstBin[b]!; k <= model.lastBin[b]!; k++) e += noise[f]![k]!;
      // Masking and the threshold in quiet add up (as MPEG-1 model 1's global threshold).
      const ratio = e / (threshold[b]! + model.quietPower[b]!);
      out.cells++;
      out.ratioSum += ratio;
      out.worstDb = Math.max(out.worstDb, 10 * Math.log10(ratio + 1e-30));
      if (ratio > 1) out.above++;
      if (isSpeech) {
        out.speechCells++;
        if (ratio > 1) out.speechAbove++;
      }
    }
  }
  return out;
}

export interface PeaqNmr {
  /** 10·log10 of the mean over frames of the mean over bands of noise/mask. */
  totalNmrDb: number;
  /** Share of frames where some band's noise is ≥ 1.5 dB over its mask. */
  relDistFrames: number;
  frames: number;
}

export function peaqNmr(clean: Float32Array, mark: Float32Array): PeaqNmr {
  const peaqBark = (hz: number): number => 7 * Math.asinh(hz / 650);
  const hzOfBark = (z: number): number => 650 * Math.sinh(z / 7);
  const lowZ = peaqBark(80);
  const highZ = peaqBark(MARK_RATE / 2);
  const bands = Math.floor((highZ - lowZ) / 0.25);
  const binHz = MARK_RATE / FRAME;
  // Band weights per bin (fraction of the bin's width inside the band).
  const bandBins: Array<Array<[number, number]>> = [];
  const centreHz = new Float64Array(bands);
  for (let b = 0; b < bands; b++) {
    const lo = hzOfBark(lowZ + b * 0.25);
    const hi = hzOfBark(lowZ + (b + 1) * 0.25);
    centreHz[b] = hzOfBark(lowZ + (b + 0.5) * 0.25);
    const list: Array<[number, number]> = [];
    for (let k = Math.max(0, Math.floor(lo / binHz - 0.5)); k <= Math.min(FRAME / 2, Math.ceil(hi / binHz + 0.5)); k++) {
      const overlap = Math.min(hi, (k + 0.5) * binHz) - Math.max(lo, (k - 0.5) * binHz);
      if (overlap > 0) list.push([k, overlap / binHz]);
    }
    bandBins.push(list);
  }
  // Outer and middle ear, and the level scale: a full-scale sine at 92 dB SPL (PEAQ's calibration).
  const window = hannWindow(FRAME);
  const fullScale = (window.reduce((a, b) => a + b, 0) / 2) ** 2;
  const ear = new Float64Array(FRAME / 2 + 1);
  for (let k = 0; k <= FRAME / 2; k++) {
    const f = Math.max(k * binHz, 20) / 1000;
    const db = -0.6 * 3.64 * f ** -0.8 + 6.5 * Math.exp(-0.6 * (f - 3.3) ** 2) - 1e-3 * f ** 3.6;
    ear[k] = (10 ** (db / 10) * 10 ** 9.2) / fullScale;
  }
  const internalNoise = Float64Array.from(centreHz, (hz) => 10 ** (0.4 * 0.364 * (hz / 1000) ** -0.8));
  const group = (p: Float64Array): Float64Array => {
    const out = new Float64Array(bands);
    for (let b = 0; b < bands; b++) for (const [k, w] of bandBins[b]!) out[b] = out[b]! + w * p[k]! * ear[k]!;
    return out;
  };
  // Level-dependent spreading in 0.25-Bark steps, summed with exponent 0.4, normalised on a flat pattern.
  const spreadOnce = (e: Float64Array): Float64Array => {
    const sum = new Float64Array(bands);
    for (let j = 0; j < bands; j++) {
      const level = 10 * Math.log10(Math.max(e[j]!, 1e-30));
      const upper = 24 + 230 / centreHz[j]! - 0.2 * level;
      const lower = 27;
      let norm = 0;
      const s = new Float64Array(bands);
      for (let k = 0; k < bands; k++) {
        const dz = (k - j) * 0.25;
        s[k] = 10 ** ((dz < 0 ? lower * dz : -upper * dz) / 10);
        norm += s[k]!;
      }
      for (let k = 0; k < bands; k++) sum[k] = sum[k]! + ((e[j]! * s[k]!) / norm) ** 0.4;
    }
    return sum.map((v) => v ** (1 / 0.4));
  };
  const flat = spreadOnce(new Float64Array(bands).fill(1));
  const speech = powerFrames(clean, GRID_OFFSET);
  const noise = powerFrames(mark, GRID_OFFSET);
  const forward = new Float64Array(bands);
  const decay = Float64Array.from(centreHz, (hz) => Math.exp(-(HOP / MARK_RATE) / (0.008 + (100 / hz) * (0.03 - 0.008))));
  const offset = Float64Array.from({ length: bands }, (_, b) => {
    const z = lowZ + (b + 0.5) * 0.25;
    return 10 ** ((z <= 12 ? 3 : 0.25 * z) / 10);
  });
  let nmrSum = 0;
  let disturbed = 0;
  for (let f = 0; f < speech.length; f++) {
    const e = group(speech[f]!).map((v, b) => v + internalNoise[b]!);
    const spread = spreadOnce(e).map((v, b) => v / flat[b]!);
    const n = group(noise[f]!);
    let frameSum = 0;
    let frameWorst = 0;
    for (let b = 0; b < bands; b++) {
      forward[b] = decay[b]! * forward[b]! + (1 - decay[b]!) * spread[b]!;
      const mask = Math.max(forward[b]!, spread[b]!) / offset[b]!;
      const r = n[b]! / mask;
      frameSum += r;
      frameWorst = Math.max(frameWorst, r);
    }
    nmrSum += frameSum / bands;
    if (10 * Math.log10(frameWorst + 1e-30) >= 1.5) disturbed++;
  }
  return { totalNmrDb: 10 * Math.log10(nmrSum / Math.max(1, speech.length)), relDistFrames: disturbed / Math.max(1, speech.length), frames: speech.length };
}

export interface TemporalLeak {
  /** 4 ms blocks where the speech is 50 dB under its loud part (pauses, silence). */
  pauseBlocks: number;
  /** …of which the mark is above the threshold in quiet (at a full-scale sine = 96 dB SPL). */
  audiblePauseBlocks: number;
  /** The mark against the pause's own background (full band), per pause block with any background: dB values. */
  pauseMarkToBackgroundDb: number[];
  /** Blocks of digital silence (every sample 0) and, of those, blocks where the mark is above the threshold in quiet. */
  silentBlocks: number;
  markedSilentBlocks: number;
  /** …of which more than 20 ms from any sound (outside backward and the strongest forward masking). */
  markedFarSilentBlocks: number;
  /** Word onsets found (a 4 ms block 20 dB over the 20 ms before it). */
  onsets: number;
  /** Median and worst, over onsets, of the mark's energy in the 20 ms before the onset against the 20 ms after, dB. */
  preEchoMedianDb: number;
  preEchoWorstDb: number;
}

const BLOCK = 64;

/** Energy of `x` between `loHz` and `hiHz` per 4 ms block, by zeroing the other bins of one big FFT. */
function bandBlocks(x: Float32Array, loHz: number, hiHz: number): Float64Array {
  let n = 1;
  while (n < x.length) n *= 2;
  const fft = realFftOfSize(n);
  const buf = new Float64Array(n);
  buf.set(x);
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  fft.forward(buf, re, im);
  for (let k = 0; k <= n / 2; k++) {
    const hz = (k * MARK_RATE) / n;
    if (hz < loHz || hz > hiHz) {
      re[k] = 0;
      im[k] = 0;
    }
  }
  fft.inverse(re, im, buf);
  return blocks(buf.subarray(0, x.length));
}

/** Mean square per 4 ms block. */
function blocks(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.floor(x.length / BLOCK));
  for (let j = 0; j < out.length; j++) {
    let s = 0;
    for (let i = j * BLOCK; i < (j + 1) * BLOCK; i++) s += x[i]! ** 2;
    out[j] = s / BLOCK;
  }
  return out;
}

export function temporalLeak(clean: Float32Array, mark: Float32Array): TemporalLeak {
  const speech = bandBlocks(clean, 50, 7900);
  const markBand = bandBlocks(mark, 500, 3200);
  // Against the threshold in quiet, the mark's own energy: a brick-wall FFT filter's slow
  // sinc tails would smear speech-time mark into the silence at levels near that threshold.
  const markRaw = blocks(mark);
  const sorted = Float64Array.from(speech).sort();
  const loud = sorted[Math.floor(0.95 * sorted.length)]!;
  // Threshold in quiet near 3 kHz (its lowest in the band, -5 dB SPL) as a mean-square level at 96 dB full scale (sine RMS² = 1/2).
  const quiet = 0.5 * 10 ** ((-5 - FULL_SCALE_DB_SPL) / 10);
  let pauseBlocks = 0;
  let audiblePauseBlocks = 0;
  let silentBlocks = 0;
  let markedSilentBlocks = 0;
  let markedFarSilentBlocks = 0;
  const pauseMarkToBackgroundDb: number[] = [];
  const silentBlock = Array.from({ length: speech.length }, (_, j) => {
    for (let i = j * BLOCK; i < (j + 1) * BLOCK; i++) if (clean[i] !== 0) return false;
    return true;
  });
  const reach = 5;
  for (let j = 0; j < speech.length; j++) {
    if (silentBlock[j]) {
      silentBlocks++;
      if (markRaw[j]! > quiet) {
        markedSilentBlocks++;
        let far = true;
        for (let a = Math.max(0, j - reach); a <= Math.min(speech.length - 1, j + reach); a++) if (!silentBlock[a]) far = false;
        if (far) markedFarSilentBlocks++;
      }
    }
    if (speech[j]! > loud * 1e-5) continue;
    pauseBlocks++;
    if (markRaw[j]! > quiet) audiblePauseBlocks++;
    if (speech[j]! > 0 && markBand[j]! > 0) pauseMarkToBackgroundDb.push(10 * Math.log10(markBand[j]! / speech[j]!));
  }
  const ratios: number[] = [];
  const span = 5;
  for (let j = span; j + span < speech.length; j++) {
    let before = 0;
    for (let a = 1; a <= span; a++) before = Math.max(before, speech[j - a]!);
    if (!(speech[j]! > 100 * before && speech[j]! > loud * 1e-3)) continue;
    let pre = 0;
    let post = 0;
    for (let a = 1; a <= span; a++) pre += markBand[j - a]!;
    for (let a = 0; a < span; a++) post += markBand[j + a]!;
    if (post > 0) ratios.push(10 * Math.log10((pre + 1e-30) / post));
  }
  ratios.sort((a, b) => a - b);
  return {
    pauseBlocks,
    audiblePauseBlocks,
    pauseMarkToBackgroundDb,
    silentBlocks,
    markedSilentBlocks,
    markedFarSilentBlocks,
    onsets: ratios.length,
    preEchoMedianDb: ratios.length ? ratios[Math.floor(ratios.length / 2)]! : NaN,
    preEchoWorstDb: ratios.length ? ratios.at(-1)! : NaN,
  };
}

/** PESQ-WB of each (clean, processed) pair at 16 kHz; a reason string when it cannot run. */
export function pesqWideband(pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>, repoRoot: string): number[] | string {
  const venv = process.env['BENCH_VENV'] ?? '/work/bench-venv';
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) return `no Python venv with pesq at ${venv} (set BENCH_VENV)`;
  const dir = mkdtempSync(join(tmpdir(), 'vocalis-pesq-'));
  try {
    const lines = pairs.map(([reference, degraded], i) => {
      const ref = join(dir, `${i}-ref.wav`);
      const deg = join(dir, `${i}-deg.wav`);
      writeFileSync(ref, encodeWav({ samples: reference, sampleRate: MARK_RATE }));
      writeFileSync(deg, encodeWav({ samples: degraded, sampleRate: MARK_RATE }));
      return `${ref}\t${deg}`;
    });
    const run = spawnSync(python, [join(repoRoot, 'bench', 'pesq_scores.py')], { input: lines.join('\n'), encoding: 'utf8', maxBuffer: 16 << 20 });
    if (run.status !== 0) return `pesq_scores.py failed: ${(run.stderr || '').trim().split('\n').pop() ?? ''}`;
    return (JSON.parse(run.stdout) as { scores: number[] }).scores;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
