/**
 * Choosing the reference clip (3–10 s, as upstream requires) from an accepted sample. Frames of
 * 20 ms are voiced when within 35 dB of the loudest frame. When the sample follows the reading
 * script and its pause-separated phrases match the sentences one to one, the clip is a run of
 * whole sentences and their text becomes the prompt; otherwise the best-scoring window is used
 * without prompt text (lower quality, documented).
 */
import type { ReadingScript } from '../../../consent/reading-script.ts';
import type { PcmChunk } from '../../pcm.ts';

export const MIN_REF_SECONDS = 3;
export const MAX_REF_SECONDS = 10;
const FRAME_SECONDS = 0.02;
const PAUSE_FRAMES = 15; // 300 ms, upstream's slicer min_interval

export interface ReferenceChoice {
  readonly startSeconds: number;
  readonly endSeconds: number;
  /** The words spoken in the clip, when known from the reading script. */
  readonly promptText: string | null;
}

function frameLevels(pcm: PcmChunk): { voiced: boolean[]; clipped: boolean[] } {
  const size = Math.round(pcm.sampleRate * FRAME_SECONDS);
  const db: number[] = [];
  const clipped: boolean[] = [];
  for (let start = 0; start + size <= pcm.samples.length; start += size) {
    let sum = 0;
    let clip = false;
    for (let i = start; i < start + size; i++) {
      const s = pcm.samples[i] ?? 0;
      sum += s * s;
      if (Math.abs(s) > 0.99) clip = true;
    }
    db.push(10 * Math.log10(sum / size + 1e-12));
    clipped.push(clip);
  }
  const peak = Math.max(...db, -120);
  return { voiced: db.map((d) => d > peak - 35 && d > -60), clipped };
}

/** Voiced phrases separated by pauses of at least 300 ms, as [startFrame, endFrame). */
function phrases(voiced: readonly boolean[]): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  let silence = 0;
  voiced.forEach((v, i) => {
    if (v) {
      if (start < 0) start = i;
      silence = 0;
    } else if (start >= 0 && ++silence >= PAUSE_FRAMES) {
      out.push([start, i - silence + 1]);
      start = -1;
    }
  });
  if (start >= 0) out.push([start, voiced.length - silence]);
  return out;
}

function score(voiced: readonly boolean[], clipped: readonly boolean[], a: number, b: number): number {
  let v = 0;
  let c = 0;
  for (let i = a; i < b; i++) {
    if (voiced[i]) v++;
    if (clipped[i]) c++;
  }
  const n = Math.max(1, b - a);
  // Mostly speech, never clipped; slightly prefer longer clips (more voice to copy).
  return v / n - 5 * (c / n) + 0.01 * n * FRAME_SECONDS;
}

export function chooseReference(pcm: PcmChunk, script: ReadingScript | null): ReferenceChoice | null {
  const { voiced, clipped } = frameLevels(pcm);
  const minFrames = MIN_REF_SECONDS / FRAME_SECONDS;
  const maxFrames = MAX_REF_SECONDS / FRAME_SECONDS;
  const pad = 5; // keep 100 ms of room around the speech
  const phr = phrases(voiced);
  const toChoice = (a: number, b: number, text: string | null): ReferenceChoice => ({
    startSeconds: Math.max(0, a - pad) * FRAME_SECONDS,
    endSeconds: Math.min(voiced.length, b + pad) * FRAME_SECONDS,
    promptText: text,
  });
  if (script && script.sentences.length === phr.length) {
    let best: { s: number; a: number; b: number; i: number; j: number } | null = null;
    for (let i = 0; i < phr.length; i++) {
      for (let j = i; j < phr.length; j++) {
        const a = phr[i]![0];
        const b = phr[j]![1];
        if (b - a + 2 * pad > maxFrames) break;
        if (b - a < minFrames) continue;
        const s = score(voiced, clipped, a, b);
        if (!best || s > best.s) best = { s, a, b, i, j };
      }
    }
    if (best) return toChoice(best.a, best.b, script.sentences.slice(best.i, best.j + 1).join(' '));
  }
  let best: { s: number; a: number; b: number } | null = null;
  for (const [pa] of phr) {
    for (let len = maxFrames - 2 * pad; len >= minFrames; len -= 25) {
      const b = Math.min(voiced.length, pa + len);
      if (b - pa < minFrames) continue;
      const s = score(voiced, clipped, pa, b);
      if (!best || s > best.s) best = { s, a: pa, b };
    }
  }
  return best ? toChoice(best.a, best.b, null) : null;
}

export function sliceSeconds(pcm: PcmChunk, start: number, end: number): Float32Array {
  return pcm.samples.slice(Math.floor(start * pcm.sampleRate), Math.ceil(end * pcm.sampleRate));
}
