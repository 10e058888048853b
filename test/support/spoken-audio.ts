import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Audio made on the spot for consent-verification tests: a flite voice reading text
 * (the statement with the live phrase, the script), and ffmpeg-synthesised non-speech.
 * flite voices: slt (female), rms, awb (male), kal16.
 */
export type FliteVoice = 'slt' | 'rms' | 'awb' | 'kal16';

export function fliteWav(voice: FliteVoice, text: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'vocalis-flite-'));
  try {
    execFileSync('flite', ['-voice', voice, '-t', text, '-o', join(dir, 'out.wav')]);
    return new Uint8Array(readFileSync(join(dir, 'out.wav')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A WAV from an ffmpeg lavfi source, e.g. `anullsrc` or an `aevalsrc` expression. */
export function lavfiWav(source: string, seconds: number, rate = 16_000): Uint8Array {
  return new Uint8Array(
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', source, '-t', String(seconds), '-ac', '1', '-ar', String(rate), '-f', 'wav', 'pipe:1'], {
      maxBuffer: 512 * 1024 * 1024,
    }),
  );
}

/** Chords with a beat: music, not speech. */
export const MUSIC_SOURCE =
  "aevalsrc='(0.2*sin(2*PI*(220+55*floor(mod(t,2)))*t)+0.15*sin(2*PI*330*t)+0.1*sin(2*PI*440*t*(1+0.01*sin(6*t))))*(0.6+0.4*sin(2*PI*2*t))':s=16000";
