import { spawn } from 'node:child_process';
import type { PcmChunk } from '../pcm.ts';
import { AudioDecodeError } from './audio-errors.ts';
import { VERDICT_THRESHOLDS } from './quality-verdict.ts';
import { analyseSample, type SampleAnalysis } from './sample-analysis.ts';
import type { VadResult } from './vad.ts';

/**
 * Steady background noise (fans, hiss, a room's air) is removed before a clip
 * is judged, with ffmpeg's FFT denoiser (`afftdn`) told the noise floor we
 * measured. Only steady backgrounds are denoised: voices and music behind the
 * speaker are not, a spectral denoiser barely touches them (0–2 dB) and only
 * distorts the speech, so such clips stay as recorded and are judged (and
 * refused) on their own figures.
 *
 * Measured on LibriSpeech test-other with noise mixed in at 12–14 dB SNR (see
 * test/audio/verdict.test.ts): as recorded 11.3–15 dB, denoised 15.7–23 dB.
 */
export interface DenoiseOptions {
  /** The noise floor to remove, dBFS (SampleAnalysis.noiseFloorDb). */
  readonly noiseFloorDb: number;
  /** How far to push the noise down, dB. 20 removes steady noise without audible musical noise on speech. */
  readonly reductionDb?: number;
  /** afftdn's noise model: `white` for hiss, `coloured` (its "vinyl" model) for pink and rumbling noise. */
  readonly model?: NoiseModel;
  readonly signal?: AbortSignal;
  /** ffmpeg is killed past this (ms). */
  readonly maxWallMs?: number;
}

export type NoiseModel = 'white' | 'coloured';

const DEFAULT_REDUCTION_DB = 20;
const DEFAULT_MAX_WALL_MS = 60_000;

/** Runs afftdn over mono float PCM at its own rate; the result has the same length and rate. */
export function denoise(pcm: PcmChunk, options: DenoiseOptions): Promise<PcmChunk> {
  options.signal?.throwIfAborted();
  // afftdn accepts floors between -80 and -20 dB; a floor a little above the
  // measured one removes the noise itself rather than half of it.
  const floor = Math.min(-20, Math.max(-80, options.noiseFloorDb + 1));
  const model = options.model === 'coloured' ? 'v' : 'w';
  const filter = `afftdn=nr=${options.reductionDb ?? DEFAULT_REDUCTION_DB}:nf=${floor.toFixed(1)}:nt=${model}`;
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'f32le',
    '-ar',
    String(pcm.sampleRate),
    '-ac',
    '1',
    '-i',
    'pipe:0',
    '-af',
    filter,
    '-f',
    'f32le',
    'pipe:1',
  ];
  return new Promise<PcmChunk>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let failure: unknown = null;
    const fail = (error: unknown): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => fail(new AudioDecodeError('timeout', `denoising took longer than ${options.maxWallMs ?? DEFAULT_MAX_WALL_MS} ms`)),
      options.maxWallMs ?? DEFAULT_MAX_WALL_MS,
    );
    const onAbort = (): void => fail(options.signal?.reason ?? new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => fail(new AudioDecodeError('unsupported', 'ffmpeg could not be started', { cause: error })));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure !== null) return reject(failure);
      if (code !== 0) return reject(new Error(`ffmpeg afftdn exited with ${String(code)}: ${stderr.trim().slice(0, 200)}`));
      const bytes = Buffer.concat(out);
      const samples = new Float32Array(pcm.samples.length);
      // Copy through an aligned buffer; ffmpeg returns as many samples as it was given.
      const floats = new Float32Array(Math.floor(bytes.length / 4));
      new Uint8Array(floats.buffer).set(bytes.subarray(0, floats.length * 4));
      samples.set(floats.subarray(0, samples.length));
      resolve({ samples, sampleRate: pcm.sampleRate });
    });
    child.stdin.end(Buffer.from(pcm.samples.buffer, pcm.samples.byteOffset, pcm.samples.byteLength));
  });
}

export interface CleanedClip {
  readonly pcm: PcmChunk;
  readonly analysis: SampleAnalysis;
}

/**
 * Denoises a clip whose SNR falls short of the verdict's floor but is not
 * hopeless and whose background is steady, with both noise models (white hiss
 * and coloured noise need different ones), and keeps the better result if it
 * gained at least `minDenoiseGainDb`. The VAD of the recording is reused:
 * speech is where it was. Every other clip is returned untouched.
 */
export async function denoiseWhereItHelps(pcm: PcmChunk, vad: VadResult, analysis: SampleAnalysis, signal?: AbortSignal): Promise<CleanedClip> {
  const t = VERDICT_THRESHOLDS;
  const worthTrying =
    analysis.netSpeechSeconds > 0 &&
    analysis.snrDb < t.minSnrDb &&
    analysis.snrDb >= t.minDenoisableSnrDb &&
    analysis.backgroundVariationDb <= t.maxSteadyBackgroundDb;
  if (!worthTrying) return { pcm, analysis };
  let best: CleanedClip | null = null;
  for (const model of ['white', 'coloured'] as const) {
    let cleaned: PcmChunk;
    try {
      cleaned = await denoise(pcm, { noiseFloorDb: analysis.noiseFloorDb, model, ...(signal ? { signal } : {}) });
    } catch (_error) {
      signal?.throwIfAborted();
      // A denoiser that fails or runs out of time (a crowded machine) must not fail the clip:
      // it is judged as recorded, and refused as noisy if it is.
      if (best) break;
      return { pcm, analysis };
    }
    const after = analyseSample(cleaned, vad, analysis.sourceSampleRate);
    if (!best || after.snrDb > best.analysis.snrDb) best = { pcm: cleaned, analysis: after };
  }
  const after = best!.analysis;
  const applied = after.snrDb - analysis.snrDb >= t.minDenoiseGainDb;
  const denoising = { applied, snrBeforeDb: analysis.snrDb, snrAfterDb: after.snrDb };
  return applied ? { pcm: best!.pcm, analysis: { ...after, denoising } } : { pcm, analysis: { ...analysis, denoising } };
}
