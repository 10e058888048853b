import { rm } from 'node:fs/promises';
import type { ClipAudioStore, VoiceFileAccess } from '../core/ports.ts';
import { decodeWav, encodeWav } from '../engine/audio/wav.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { DataPaths } from './data-paths.ts';
import { readEncryptedFileAll, writeEncryptedFile } from './encrypted-file.ts';
import { requireDataKey, VoiceFileStore, type DataKeySource } from './voice-file-store.ts';

/**
 * Sample clips on disk: 16-bit WAV, encrypted under the owner's data key and bound
 * to user and clip id. Decrypted only into memory.
 */
export class ClipAudioFiles implements ClipAudioStore {
  readonly #paths: DataPaths;
  readonly #keys: DataKeySource;

  constructor(paths: DataPaths, keys: DataKeySource) {
    this.#paths = paths;
    this.#keys = keys;
  }

  async write(userId: string, clipId: string, pcm: PcmChunk): Promise<void> {
    await this.#paths.ensureDir(this.#paths.samplesDir(userId));
    await writeEncryptedFile(
      this.#paths.clipFile(userId, clipId),
      requireDataKey(this.#keys, userId),
      this.#paths.clipIdentity(userId, clipId),
      encodeWav(pcm, 16),
    );
  }

  async read(userId: string, clipId: string): Promise<PcmChunk> {
    const bytes = await readEncryptedFileAll(
      this.#paths.clipFile(userId, clipId),
      requireDataKey(this.#keys, userId),
      this.#paths.clipIdentity(userId, clipId),
    );
    const wav = decodeWav(bytes);
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  }

  async delete(userId: string, clipIds: readonly string[]): Promise<void> {
    for (const id of clipIds) await rm(this.#paths.clipFile(userId, id), { force: true });
  }
}

/** Voice versions' encrypted model files. */
export class VoiceFileFolders implements VoiceFileAccess {
  readonly #paths: DataPaths;
  readonly #keys: DataKeySource;

  constructor(paths: DataPaths, keys: DataKeySource) {
    this.#paths = paths;
    this.#keys = keys;
  }

  files(userId: string, voiceId: string, version: number): VoiceFileStore {
    return new VoiceFileStore({ paths: this.#paths, keys: this.#keys, userId, voiceId, version });
  }

  async discard(userId: string, voiceId: string, version: number): Promise<void> {
    await this.files(userId, voiceId, version).clear();
  }
}
