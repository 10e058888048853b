import type { ClipAudioStore, VoiceFileAccess } from '../core/ports.ts';
import { decodeWav, encodeWav } from '../engine/audio/wav.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { BlobStore } from './blob-store.ts';
import { getEncryptedAll, putEncrypted } from './encrypted-blobs.ts';
import { clipIdentity, clipKey } from './object-keys.ts';
import { requireDataKey, VoiceFileStore, type DataKeySource } from './voice-file-store.ts';

/**
 * Sample clips in the blob store (data directory or object store): 16-bit WAV, encrypted
 * under the owner's data key and bound to user and clip id. Decrypted only into memory.
 */
export class ClipAudioFiles implements ClipAudioStore {
  readonly #store: BlobStore;
  readonly #keys: DataKeySource;

  constructor(store: BlobStore, keys: DataKeySource) {
    this.#store = store;
    this.#keys = keys;
  }

  async write(userId: string, clipId: string, pcm: PcmChunk): Promise<void> {
    await putEncrypted(this.#store, clipKey(userId, clipId), requireDataKey(this.#keys, userId), clipIdentity(userId, clipId), encodeWav(pcm, 16));
  }

  async read(userId: string, clipId: string): Promise<PcmChunk> {
    const bytes = await getEncryptedAll(this.#store, clipKey(userId, clipId), requireDataKey(this.#keys, userId), clipIdentity(userId, clipId));
    const wav = decodeWav(bytes);
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  }

  async delete(userId: string, clipIds: readonly string[]): Promise<void> {
    for (const id of clipIds) await this.#store.delete(clipKey(userId, id));
  }
}

/** Voice versions' encrypted model files. */
export class VoiceFileFolders implements VoiceFileAccess {
  readonly #store: BlobStore;
  readonly #keys: DataKeySource;

  constructor(store: BlobStore, keys: DataKeySource) {
    this.#store = store;
    this.#keys = keys;
  }

  files(userId: string, voiceId: string, version: number): VoiceFileStore {
    return new VoiceFileStore({ store: this.#store, keys: this.#keys, userId, voiceId, version });
  }

  async discard(userId: string, voiceId: string, version: number): Promise<void> {
    await this.files(userId, voiceId, version).clear();
  }
}
