import type { BackendInfo, FineTuneContext, FineTuneResult, LoadedVoice, PreparedSample, SampleSource, VoiceBackend, VoiceFiles } from '../../backend.ts';
import { analyse } from '../../features/analysis.ts';
import { BaseVoiceCatalog } from './catalog.ts';
import { SAMPLE_RATE } from '../../features/constants.ts';
import { ConversionPool } from './conversion-pool.ts';
import type { Rendering } from './convert.ts';
import { decodeModel, encodeModel, MODEL_FILE } from './model.ts';
import { sampleLanguage, trainModel, trainStatistics } from './train.ts';
import { ClassicVoice } from './voice.ts';

/**
 * The classic backend: statistical voice conversion on CPU. A base synthesiser
 * (flite / espeak-ng) speaks, and a per-user mapping (joint-density GMM with
 * MLPG on mel-cepstra, plus log-F0, level and rate transforms) pushes its voice
 * towards the user's. Far below neural quality, but needs no GPU and no downloads.
 */
export interface ClassicBackendOptions {
  /** Restrict the base voices (ids from render.ts, e.g. ['flite-slt']); default: all. */
  readonly baseVoices?: readonly string[];
  /** Candidate GMM sizes, chosen by validation MCD; default 1, 2, 4, 8, 16, 32 (sizes the data cannot support are skipped). */
  readonly mixtures?: readonly number[];
  /** Override the script-match threshold (see train.ts). */
  readonly matchThreshold?: number;
  /** Transcribe samples that are not the script and train on the transcript (default true; see align-transcript.ts). */
  readonly recognise?: boolean;
  /** Worker threads that analyse, convert and resynthesise clauses; default `defaultPoolSize()` (at least 2). */
  readonly conversionWorkers?: number;
  /**
   * How clauses become the user's voice (convert.ts): 'differential' (default) changes the base
   * voice's own waveform and keeps it intelligible; 'vocoder' resynthesises it, further towards
   * the user but recognised far worse. The bench compares both.
   */
  readonly rendering?: Rendering;
}

/** A classic backend owns a pool of worker threads; `close()` stops them (idle workers never keep a process alive). */
export interface ClassicBackend extends VoiceBackend {
  close(): Promise<void>;
}

export { MODEL_FILE } from './model.ts';

/**
 * Net speech (VAD) the fine-tune asks for. A minute of reading holds 50–67 s of
 * it (LibriSpeech test-other: 66–83 s of audio give 50.4–66.6 s), so a 60 s
 * target left people who had read for a minute stuck a sentence short; the
 * GMM's likeness does not drop at 45 s (see docs/backends/classic.md).
 */
export const TARGET_SPEECH_SECONDS = 45;

export function createClassicBackend(options: ClassicBackendOptions = {}): ClassicBackend {
  const catalog = new BaseVoiceCatalog(options.baseVoices);
  // One pool per backend: synthesis CPU work leaves the calling thread (see conversion-pool.ts).
  const pool = new ConversionPool(options.conversionWorkers !== undefined ? { size: options.conversionWorkers } : {});
  const info: BackendInfo = {
    name: 'classic',
    description:
      'Statistical voice conversion on CPU (flite/espeak-ng base voice + GMM mapping of mel-cepstra and pitch). ' +
      'Pushes a synthetic voice towards yours; far below neural quality.',
    languages: catalog.languages(),
    targetSpeechSeconds: TARGET_SPEECH_SECONDS,
    minSampleRate: SAMPLE_RATE,
  };

  return {
    info,

    async prepareSample(sample: SampleSource, files: VoiceFiles, signal: AbortSignal): Promise<PreparedSample> {
      const pcm = await sample.read(SAMPLE_RATE);
      signal.throwIfAborted();
      const language = sampleLanguage(sample.script, catalog);
      const model = await trainStatistics(analyse(pcm.samples, signal), language, catalog, signal);
      signal.throwIfAborted();
      await files.write(MODEL_FILE, encodeModel(model));
      return { zeroShot: true };
    },

    async fineTune(ctx: FineTuneContext): Promise<FineTuneResult> {
      const pcm = await ctx.sample.read(SAMPLE_RATE);
      ctx.signal.throwIfAborted();
      const result = await trainModel({
        samples: pcm.samples,
        script: ctx.sample.script,
        catalog,
        signal: ctx.signal,
        progress: (stage, fraction, detail) => ctx.progress(detail ? { stage, fraction, detail } : { stage, fraction }),
        ...(options.mixtures ? { mixtures: options.mixtures } : {}),
        ...(options.matchThreshold !== undefined ? { matchThreshold: options.matchThreshold } : {}),
        ...(options.recognise !== undefined ? { recognise: options.recognise } : {}),
      });
      ctx.signal.throwIfAborted();
      ctx.progress({ stage: 'saving', fraction: 0.98 });
      await ctx.files.write(MODEL_FILE, encodeModel(result.model));
      ctx.progress({ stage: 'done', fraction: 1 });
      return { metrics: result.metrics };
    },

    async loadVoice(files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> {
      const bytes = await files.read(MODEL_FILE);
      signal.throwIfAborted();
      const voice = new ClassicVoice(decodeModel(bytes), catalog, bytes.byteLength + 64 * 1024, pool, options.rendering ?? 'differential');
      pool.warm(); // workers load their modules while the first clause renders
      return voice;
    },

    close(): Promise<void> {
      return pool.close();
    },
  };
}
