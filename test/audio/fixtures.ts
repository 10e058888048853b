import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Real speech lives beside the repo (../shared/data); a missing file fails loudly, never skips. */
export const DATA_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data');

export function dataFile(relative: string): string {
  const path = join(DATA_DIR, relative);
  if (!existsSync(path)) throw new Error(`test data missing: ${path} (see ../shared/data/README.md)`);
  return path;
}

export function readData(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(dataFile(relative)));
}

export function speakerFiles(speaker: string): string[] {
  const dir = dataFile(join('librispeech', 'test-other', speaker));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.flac'))
    .sort();
  if (files.length === 0) throw new Error(`no FLAC files in ${dir}`);
  return files.map((f) => join(dir, f));
}

const run = promisify(execFile);

/** Runs ffmpeg and returns its stdout as bytes (inputs via lavfi or files; output to pipe:1). */
export async function ffmpeg(args: readonly string[], input?: Uint8Array): Promise<Uint8Array> {
  if (input) {
    const { spawn } = await import('node:child_process');
    return await new Promise((res, rej) => {
      const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args]);
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('close', (code) => (code === 0 ? res(new Uint8Array(Buffer.concat(out))) : rej(new Error(`ffmpeg exited ${code}`))));
      child.stdin.end(input);
    });
  }
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return new Uint8Array(stdout);
}

export async function ffprobeDuration(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'default=nw=1', path]);
  const match = /duration=([\d.]+)/.exec(stdout);
  if (!match || !/codec_name=opus/.test(stdout)) throw new Error(`ffprobe did not accept ${path}: ${stdout}`);
  return Number(match[1]);
}

export function tone(freq: number, sampleRate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return out;
}

export function rms(samples: Float32Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}
