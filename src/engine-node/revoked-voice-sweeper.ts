/**
 * An engine node's loaded voices whose consent has ended. In one process, revocation evicts
 * the voice from the cache itself; on an engine node nobody tells the cache, so the node
 * re-reads, every second, whether each voice it loaded still stands behind a live consent,
 * and drops the model from memory when it does not (streams still running under it are
 * stopped by their tickets).
 */
export interface VoiceStanding {
  /** Whether `voiceId` is still the voice of `userId`'s live consent. */
  stillConsented(userId: string, voiceId: string): boolean;
  evict(voiceIds: readonly string[]): void;
}

export const SWEEP_MS = 1000;

export class RevokedVoiceSweeper {
  readonly #standing: VoiceStanding;
  readonly #onError: (error: unknown) => void;
  /** voice id → owner's user id, for each voice this node has loaded. */
  readonly #loaded = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(standing: VoiceStanding, onError: (error: unknown) => void) {
    this.#standing = standing;
    this.#onError = onError;
  }

  /** A voice this node is about to load (or already has). */
  loaded(userId: string, voiceId: string): void {
    this.#loaded.set(voiceId, userId);
  }

  get tracked(): number {
    return this.#loaded.size;
  }

  start(intervalMs = SWEEP_MS): void {
    this.#timer = setInterval(() => {
      try {
        this.sweep();
      } catch (error) {
        this.#onError(error);
      }
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Evicts every tracked voice whose consent has ended; returns how many. */
  sweep(): number {
    const ended = [...this.#loaded].filter(([voiceId, userId]) => !this.#standing.stillConsented(userId, voiceId)).map(([voiceId]) => voiceId);
    if (ended.length === 0) return 0;
    this.#standing.evict(ended);
    for (const voiceId of ended) this.#loaded.delete(voiceId);
    return ended.length;
  }
}
