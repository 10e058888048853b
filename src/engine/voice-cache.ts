import type { LoadedVoice } from './backend.ts';

/**
 * Loaded voices, keyed by voice and version, bounded by resident bytes. Loading is
 * shared: concurrent requests for the same voice wait on one load. Nothing here is a
 * "current voice": each request asks for its own key.
 */
export class VoiceCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, { voiceId: string; promise: Promise<LoadedVoice>; bytes: number; users: number }>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Borrows a loaded voice; call the returned release when the request is done. */
  async acquire(voiceId: string, version: number, load: () => Promise<LoadedVoice>): Promise<{ voice: LoadedVoice; release: () => void }> {
    const key = `${voiceId}@${version}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      const created = { voiceId, promise: load(), bytes: 0, users: 0 };
      entry = created;
      this.#entries.set(key, created);
      created.promise.then(
        (voice) => {
          if (this.#entries.get(key) !== created) return; // evicted while loading; #remove disposes it
          created.bytes = voice.sizeBytes;
          this.#bytes += voice.sizeBytes;
          this.#trim();
        },
        () => this.#entries.delete(key),
      );
    } else {
      // Re-insert: Map order is the LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    entry.users++;
    const held = entry;
    try {
      const voice = await held.promise;
      let released = false;
      return {
        voice,
        release: () => {
          if (released) return;
          released = true;
          held.users--;
          this.#trim();
        },
      };
    } catch (error) {
      held.users--;
      throw error;
    }
  }

  /** Drops every version of these voices (revocation); in-flight users keep theirs until they finish. */
  evict(voiceIds: readonly string[]): void {
    for (const [key, entry] of this.#entries) {
      if (voiceIds.includes(entry.voiceId)) this.#remove(key, entry);
    }
  }

  get sizeBytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  #trim(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return;
      if (entry.users === 0 && entry.bytes > 0) this.#remove(key, entry);
    }
  }

  #remove(key: string, entry: { promise: Promise<LoadedVoice>; bytes: number }): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    entry.promise.then((voice) => voice.dispose(), () => undefined);
  }
}
