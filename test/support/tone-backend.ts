import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BackendInfo,
  FineTuneContext,
  FineTuneResult,
  LoadedVoice,
  PreparedSample,
  SampleSource,
  SynthesisRequest,
  VoiceBackend,
  VoiceFiles,
} from '../../src/engine/backend.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';

/**
 * A test-only backend: its "voice" is one number learned from the sample (its zero-
 * crossing rate, turned into a tone frequency), and it speaks one tone burst per
 * word. Small and deterministic, so tests can tell whose voice a stream carries.
 */
export interface ToneBackendOptions {
  readonly name?: string;
  readonly targetSpeechSeconds?: number;
  /** Delay per fine-tune step, so tests can revoke or kill mid-job. */
  readonly stepMs?: number;
  readonly steps?: number;
  /** Delay per word during synthesis, so tests can revoke mid-stream. */
  readonly wordMs?: number;
  /** Fail the fine-tune on these attempts (1-based), to test retries. */
  readonly failAttempts?: readonly number[];
  /** Extra model bytes the fine-tune writes, to test a disk filling up. */
  readonly modelPaddingBytes?: number;
}

const RATE = 16_000;

export function createToneBackend(options: ToneBackendOptions = {}): VoiceBackend & { attempts: number } {
  const info: BackendInfo = {
    name: options.name ?? 'tone',
    description: 'test-only tone backend',
    languages: ['en', 'zh'],
    targetSpeechSeconds: options.targetSpeechSeconds ?? 3,
    minSampleRate: 8000,
  };
  const backend = {
    info,
    attempts: 0,
    async prepareSample(sample: SampleSource, files: VoiceFiles): Promise<PreparedSample> {
      await files.write('tone.json', encode({ frequency: await frequencyOf(sample), kind: 'preview' }));
      return { zeroShot: true };
    },
    async fineTune(ctx: FineTuneContext): Promise<FineTuneResult> {
      backend.attempts++;
      if (options.failAttempts?.includes(backend.attempts)) throw new Error(`tone backend fails attempt ${backend.attempts} on purpose`);
      const steps = options.steps ?? 3;
      for (let step = 1; step <= steps; step++) {
        ctx.signal.throwIfAborted();
        await sleep(options.stepMs ?? 5, undefined, { signal: ctx.signal });
        ctx.progress({ stage: 'training', fraction: step / steps, detail: { step, steps } });
      }
      const frequency = await frequencyOf(ctx.sample);
      await ctx.files.write('tone.json', encode({ frequency, kind: 'finetuned' }));
      if (options.modelPaddingBytes) await ctx.files.write('padding.bin', new Uint8Array(options.modelPaddingBytes).fill(7));
      return { metrics: { frequency, steps } };
    },
    async loadVoice(files: VoiceFiles): Promise<LoadedVoice> {
      const model = JSON.parse(Buffer.from(await files.read('tone.json')).toString('utf8')) as { frequency: number };
      return {
        sizeBytes: 1024,
        dispose() {},
        async *synthesize(request: SynthesisRequest): AsyncGenerator<PcmChunk> {
          const words = request.text.split(/\s+/).filter(Boolean);
          for (const _word of words) {
            request.signal.throwIfAborted();
            if (options.wordMs) await sleep(options.wordMs, undefined, { signal: request.signal });
            yield tone(model.frequency, 0.2 / request.speed);
          }
        },
      };
    },
  };
  return backend;
}

function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

async function frequencyOf(sample: SampleSource): Promise<number> {
  // Zero crossings per second: a crude brightness figure that differs between speakers.
  const pcm = await sample.read(RATE);
  return Math.round(100 + estimateFrequency(pcm) / 2);
}

export function tone(frequency: number, seconds: number): PcmChunk {
  const samples = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * frequency * i) / RATE);
  return { samples, sampleRate: RATE };
}

/** The dominant frequency of a chunk by zero crossings: enough to tell test voices apart. */
export function estimateFrequency(chunk: PcmChunk): number {
  let crossings = 0;
  for (let i = 1; i < chunk.samples.length; i++) {
    if ((chunk.samples[i - 1] ?? 0) < 0 !== (chunk.samples[i] ?? 0) < 0) crossings++;
  }
  return (crossings / 2) * (chunk.sampleRate / chunk.samples.length);
}
