import { spawn } from 'node:child_process';
import { BackendError } from '../../backend.ts';
import { resample } from '../../audio/resampler.ts';
import { decodeWav } from '../../audio/wav.ts';
import { SAMPLE_RATE } from '../../features/constants.ts';

/**
 * Base voices: existing synthesisers run as child processes (never linked:
 * espeak-ng is GPL). flite renders English at 16 kHz; espeak-ng covers
 * Mandarin and is resampled to 16 kHz by sox.
 */
export type BaseLanguage = 'en' | 'zh';

export interface BaseVoice {
  readonly id: string;
  readonly language: BaseLanguage;
  readonly engine: 'flite' | 'espeak-ng';
  /** The engine's own voice name. */
  readonly voice: string;
}

export const BASE_VOICES: readonly BaseVoice[] = [
  { id: 'flite-slt', language: 'en', engine: 'flite', voice: 'slt' },
  { id: 'flite-awb', language: 'en', engine: 'flite', voice: 'awb' },
  { id: 'flite-rms', language: 'en', engine: 'flite', voice: 'rms' },
  { id: 'flite-kal16', language: 'en', engine: 'flite', voice: 'kal16' },
  { id: 'espeak-cmn', language: 'zh', engine: 'espeak-ng', voice: 'cmn' },
  { id: 'espeak-cmn-f', language: 'zh', engine: 'espeak-ng', voice: 'cmn+f3' },
];

export function baseVoiceById(id: string): BaseVoice {
  const voice = BASE_VOICES.find((v) => v.id === id);
  if (!voice) throw new BackendError('unknown_base_voice', `unknown base voice "${id}"; known: ${BASE_VOICES.map((v) => v.id).join(', ')}`);
  return voice;
}

export interface RenderOptions {
  /** Duration multiplier: > 1 is slower speech. */
  readonly stretch?: number;
  readonly signal?: AbortSignal;
}

/** Renders text with a base voice: mono float PCM at 16 kHz. */
export async function renderBase(voice: BaseVoice, text: string, options: RenderOptions = {}): Promise<Float32Array> {
  const stretch = Math.min(2.5, Math.max(0.4, options.stretch ?? 1));
  if (voice.engine === 'flite') {
    // flite cannot open /dev/stdout when it is a socket (as Node's stdio pipes are),
    // so a real pipe through cat carries the WAV; the text stays a positional argument.
    const bytes = await runProcess(
      'sh',
      ['-c', 'flite -voice "$1" --setf "$2" -t "$3" -o /dev/stdout | cat', 'sh', voice.voice, `duration_stretch=${stretch.toFixed(3)}`, text],
      null,
      options.signal,
    );
    return pcmOf(bytes);
  }
  const wpm = Math.round(Math.min(450, Math.max(80, 175 / stretch)));
  const wav = await runProcess('espeak-ng', ['-v', voice.voice, '-s', String(wpm), '--stdout', '--stdin'], Buffer.from(text, 'utf8'), options.signal);
  return pcmOf(wav);
}

function pcmOf(bytes: Uint8Array): Float32Array {
  let decoded: ReturnType<typeof decodeWav>;
  try {
    decoded = decodeWav(bytes);
  } catch (err) {
    throw new BackendError('base_voice_failed', `base voice output is not readable audio: ${err instanceof Error ? err.message : String(err)}`);
  }
  return resample(decoded.samples, decoded.sampleRate, SAMPLE_RATE);
}

function runProcess(command: string, args: string[], input: Buffer | null, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let errText = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (errText.length < 500) errText += d.toString('utf8');
    });
    child.on('error', (err: Error) => {
      if (signal?.aborted) reject(signal.reason instanceof Error ? signal.reason : err);
      else reject(new BackendError('base_voice_failed', `${command} could not run: ${err.message}`));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else if (!signal?.aborted) reject(new BackendError('base_voice_failed', `${command} exited with ${String(code)}: ${errText.trim().slice(0, 200)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? undefined);
  });
}
