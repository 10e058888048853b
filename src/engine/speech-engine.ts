import type { ConsentTicket } from '../consent/consent-gate.ts';
import type { BackendRegistry } from './registry.ts';
import type { SynthesisRequest, VoiceFiles } from './backend.ts';
import type { PcmChunk } from './pcm.ts';
import type { VoiceCache } from './voice-cache.ts';
import { markedSpeech } from './watermark/marked-stream.ts';
import type { UtteranceMarks } from './watermark/utterance-marks.ts';

/** Which voice a request speaks with: always passed in, never looked up from shared state. */
export interface VoiceTarget {
  readonly userId: string;
  readonly voiceId: string;
  readonly version: number;
  readonly backend: string;
}

export type SpeechOptions = Omit<SynthesisRequest, 'signal'> & { readonly signal?: AbortSignal };

/**
 * Streams synthesis for one request under a consent ticket. The ticket is checked
 * before every chunk leaves and watched on a timer, so a revocation stops the audio
 * within a fraction of a second even while the backend is busy. Every utterance
 * is marked here, before any encoding, so no output path can leave the mark out.
 */
export class SpeechEngine {
  readonly #backends: BackendRegistry;
  readonly #cache: VoiceCache;
  readonly #filesFor: (target: VoiceTarget) => VoiceFiles;
  readonly #marks: UtteranceMarks;
  #active = 0;

  constructor(deps: { backends: BackendRegistry; cache: VoiceCache; filesFor: (target: VoiceTarget) => VoiceFiles; marks: UtteranceMarks }) {
    this.#backends = deps.backends;
    this.#cache = deps.cache;
    this.#filesFor = deps.filesFor;
    this.#marks = deps.marks;
  }

  get activeStreams(): number {
    return this.#active;
  }

  async *stream(target: VoiceTarget, options: SpeechOptions, ticket: ConsentTicket): AsyncGenerator<PcmChunk> {
    ticket.watch();
    const signal = options.signal ? AbortSignal.any([ticket.signal, options.signal]) : ticket.signal;
    this.#active++;
    let release: (() => void) | undefined;
    try {
      const backend = this.#backends.get(target.backend);
      const held = await this.#cache.acquire(target.voiceId, target.version, () => backend.loadVoice(this.#filesFor(target), signal));
      release = held.release;
      const utterance = { userId: target.userId, voiceId: target.voiceId };
      const allowed = (): void => {
        signal.throwIfAborted();
        ticket.check();
      };
      for await (const chunk of markedSpeech(held.value.synthesize({ ...options, signal }), this.#marks, utterance, allowed)) {
        signal.throwIfAborted();
        ticket.check();
        yield chunk;
      }
      signal.throwIfAborted();
    } catch (error) {
      // A backend stopped by the abort may throw a bare AbortError: the reason (a revocation, the caller's cancel) is what the person hears.
      if (signal.aborted && error !== signal.reason) throw signal.reason;
      throw error;
    } finally {
      this.#active--;
      release?.();
      ticket.release();
    }
  }
}
