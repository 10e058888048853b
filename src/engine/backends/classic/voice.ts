import type { LoadedVoice, SynthesisRequest } from '../../backend.ts';
import type { PcmChunk } from '../../pcm.ts';
import { analyse } from './analysis.ts';
import type { BaseVoiceCatalog } from './catalog.ts';
import { SAMPLE_RATE } from './constants.ts';
import { conversionOf, convertFeatures, type Conversion } from './convert.ts';
import type { ClassicModel } from './model.ts';
import { baseVoiceById, renderBase, type BaseLanguage, type BaseVoice } from './render.ts';
import { clamp } from './stats.ts';
import { resolveLanguage, splitClauses } from './text.ts';
import { synthesise } from './synthesis.ts';

/**
 * A loaded classic voice. Every request renders clause by clause: the base
 * voice renders the next clause (a child process) while this one is analysed,
 * converted and resynthesised, and each clause is yielded as soon as it is done.
 * `variability` is ignored: the conversion is deterministic.
 */
export class ClassicVoice implements LoadedVoice {
  readonly sizeBytes: number;
  readonly #model: ClassicModel;
  readonly #conversion: Conversion;
  readonly #catalog: BaseVoiceCatalog;

  constructor(model: ClassicModel, catalog: BaseVoiceCatalog, sizeBytes: number) {
    this.#model = model;
    this.#conversion = conversionOf(model);
    this.#catalog = catalog;
    this.sizeBytes = sizeBytes;
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<PcmChunk> {
    const { signal } = request;
    signal.throwIfAborted();
    const language = resolveLanguage(request.language, this.#catalog.languages());
    const clauses = splitClauses(request.text, language);
    const { voice, conversion } = await this.#routeFor(language, signal);
    const speed = Number.isFinite(request.speed) && request.speed > 0 ? clamp(request.speed, 0.5, 2) : 1;
    const stretch = this.#model.stretch / speed;
    const render = (text: string): Promise<Float32Array> => renderBase(voice, text, { stretch, signal });
    let next = render(clauses[0]!);
    for (let i = 0; i < clauses.length; i++) {
      const pcm = await next;
      if (i + 1 < clauses.length) {
        next = render(clauses[i + 1]!);
        next.catch(() => undefined); // surfaced when awaited; never an unhandled rejection
      }
      signal.throwIfAborted();
      const converted = convertFeatures(analyse(pcm, signal), conversion);
      signal.throwIfAborted();
      yield { samples: synthesise(converted, i + 1), sampleRate: SAMPLE_RATE };
    }
  }

  /**
   * The trained mapping applies to the base voice it was trained from; another
   * language gets that language's nearest base voice and statistics matching
   * towards the user's recorded statistics.
   */
  async #routeFor(language: BaseLanguage, signal: AbortSignal): Promise<{ voice: BaseVoice; conversion: Conversion }> {
    if (language === this.#model.language) return { voice: baseVoiceById(this.#model.baseVoice), conversion: this.#conversion };
    const nearest = await this.#catalog.nearest(language, this.#model.target, signal);
    return { voice: nearest.voice, conversion: { source: nearest.stats, target: this.#model.target, gmm: null } };
  }

  dispose(): void {
    // Nothing resident beyond the model object, which the garbage collector takes.
  }
}
