import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioDecodeError } from './audio-errors.ts';
import type { DecodedAudio } from './decoded-audio.ts';
import type { DecodeLimits } from './decode-limits.ts';

/** Keep only the head of ffmpeg's stderr: enough for stream info and the error line. */
const STDERR_KEEP = 64 * 1024;

export interface FfmpegDecodeOptions {
  readonly sampleRate: number;
  readonly limits: DecodeLimits;
  readonly signal?: AbortSignal;
  /** MP4/M4A may keep its index at the end, which a pipe cannot seek to: go through a temp file. */
  readonly needsSeekableInput: boolean;
  readonly container: string;
}

interface StreamInfo {
  readonly sampleRate: number;
  readonly channels: number;
}

/** Parses "Stream #0:0…: Audio: mp3, 8000 Hz, mono, fltp" from ffmpeg's info log. */
function parseAudioStream(stderr: string): StreamInfo | null {
  const match = /Stream #\d+:\d+[^\n]*?: Audio: [^\n]*?(\d+) Hz, ([^,\n]+)/.exec(stderr);
  if (!match) return null;
  const layout = (match[2] ?? '').trim();
  const channels = layout === 'mono' ? 1 : layout === 'stereo' ? 2 : Number.parseInt(layout, 10) || 2;
  return { sampleRate: Number(match[1]), channels };
}

function classifyFailure(stderr: string): AudioDecodeError {
  if (/matches no streams|does not contain any stream|Output file #0 does not contain/i.test(stderr)) {
    return new AudioDecodeError('no_audio_stream', 'the file has no audio stream');
  }
  if (
    /Invalid data found|could not find codec parameters|Failed to read frame size|moov atom not found|EBML header parsing failed|Format .* detected only with low score/i.test(
      stderr,
    )
  ) {
    return new AudioDecodeError('not_audio', 'the file is not a recognised audio or video format');
  }
  if (/partial file|truncat|end of file|Packet corrupt|invalid frame/i.test(stderr)) {
    return new AudioDecodeError('truncated', 'the audio file is truncated or damaged');
  }
  return new AudioDecodeError('corrupt', 'ffmpeg could not decode the file');
}

/**
 * Decodes any format ffmpeg knows (FLAC, MP3, M4A, WebM…) to mono f32 at the
 * target rate. ffmpeg emits two channels so that our downmix can skip a silent
 * one; we fold them on the fly into a running sum (one float per frame) plus
 * per-channel energy, so memory stays one mono buffer however long the input.
 */
export async function decodeWithFfmpeg(input: Uint8Array, options: FfmpegDecodeOptions): Promise<DecodedAudio> {
  options.signal?.throwIfAborted();
  let tempDir: string | null = null;
  let inputArg = 'pipe:0';
  if (options.needsSeekableInput) {
    tempDir = await mkdtemp(join(tmpdir(), 'vocalis-decode-'));
    inputArg = join(tempDir, 'input');
    await writeFile(inputArg, input, { mode: 0o600 });
  }
  try {
    return await runFfmpeg(input, inputArg, options);
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

function runFfmpeg(input: Uint8Array, inputArg: string, options: FfmpegDecodeOptions): Promise<DecodedAudio> {
  const { sampleRate, limits, signal } = options;
  const maxFrames = Math.ceil(limits.maxDurationSeconds * sampleRate);
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'info',
    '-i',
    inputArg,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-ac',
    '2',
    '-ar',
    String(sampleRate),
    // One frame past the limit tells "exactly at the limit" from "longer".
    '-t',
    String((maxFrames + 1) / sampleRate),
    '-f',
    'f32le',
    'pipe:1',
  ];
  return new Promise<DecodedAudio>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: [inputArg === 'pipe:0' ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let mono = new Float32Array(Math.min(maxFrames + 1, sampleRate * 60));
    let frames = 0;
    const energy = [0, 0];
    let carry: Buffer = Buffer.alloc(0);
    let stderr = '';
    let failure: unknown = null;
    let settled = false;

    const fail = (error: unknown): void => {
      if (failure === null) failure = error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new AudioDecodeError('timeout', `decoding took longer than ${limits.maxWallMs} ms`)), limits.maxWallMs);
    const onAbort = (): void => fail(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (chunk: Buffer) => {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = Math.floor(data.length / 8); // 2 channels × 4 bytes
      if (frames + whole > mono.length) {
        const grown = new Float32Array(Math.min(Math.max(mono.length * 2, frames + whole), maxFrames + 1));
        grown.set(mono.subarray(0, frames));
        mono = grown;
      }
      // Copy into an aligned buffer so the floats can be read as a typed array.
      const floats = new Float32Array(whole * 2);
      new Uint8Array(floats.buffer).set(data.subarray(0, whole * 8));
      for (let f = 0; f < whole && frames < mono.length; f++) {
        let l = floats[f * 2] ?? 0;
        let r = floats[f * 2 + 1] ?? 0;
        if (!Number.isFinite(l)) l = 0;
        if (!Number.isFinite(r)) r = 0;
        energy[0] = (energy[0] ?? 0) + l * l;
        energy[1] = (energy[1] ?? 0) + r * r;
        mono[frames++] = l + r;
      }
      carry = data.subarray(whole * 8);
      if (frames > maxFrames) fail(new AudioDecodeError('too_long', `audio is longer than ${limits.maxDurationSeconds} s`));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += chunk.toString('utf8', 0, Math.min(chunk.length, STDERR_KEEP - stderr.length));
    });
    if (child.stdin) {
      child.stdin.on('error', () => {
        /* ffmpeg may stop reading early; its exit status tells why */
      });
      child.stdin.end(input);
    }
    child.on('error', (error) => fail(new AudioDecodeError('unsupported', 'ffmpeg could not be started', { cause: error })));
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (failure !== null) return reject(failure);
      if (code !== 0) return reject(classifyFailure(stderr));
      const info = parseAudioStream(stderr);
      if (frames === 0) {
        return reject(info ? new AudioDecodeError('empty', 'the audio stream holds no samples') : classifyFailure(stderr));
      }
      // A channel 40 dB below the other is left out of the mix instead of halving the level.
      const loud = Math.max(energy[0] ?? 0, energy[1] ?? 0);
      const silent = [energy[0] ?? 0, energy[1] ?? 0].filter((e) => e <= loud * 1e-4).length;
      const sourceChannels = info?.channels ?? 2;
      const oneSilent = sourceChannels >= 2 && silent === 1;
      const scale = oneSilent ? 1 : 0.5;
      const samples = mono.slice(0, frames);
      for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-1, Math.min(1, (samples[i] ?? 0) * scale));
      resolve({
        samples,
        sampleRate,
        sourceSampleRate: info?.sampleRate ?? 0,
        sourceChannels,
        silentChannels: oneSilent ? 1 : 0,
        nonFiniteSamples: 0,
        container: options.container,
      });
    });
  });
}
