import type { LoadedVoice } from './backend.ts';
import { LeasedLru, type Lease } from './leased-lru.ts';

/**
 * Loaded voices, keyed by voice and version, bounded by resident bytes. Nothing here is a
 * "current voice": each request leases its own key.
 */
export class VoiceCache {
  readonly #lru: LeasedLru<LoadedVoice>;

  constructor(maxBytes: number) {
    this.#lru = new LeasedLru<LoadedVoice>(maxBytes, (voice) => voice.dispose());
  }

  acquire(voiceId: string, version: number, load: () => Promise<LoadedVoice>): Promise<Lease<LoadedVoice>> {
    return this.#lru.acquire(
      `${voiceId}@${version}`,
      async () => {
        const voice = await load();
        return { value: voice, bytes: voice.sizeBytes };
      },
      voiceId,
    );
  }

  /** Drops every version of these voices (revocation); in-flight users keep theirs until they finish. */
  evict(voiceIds: readonly string[]): void {
    this.#lru.evict(voiceIds);
  }
}
