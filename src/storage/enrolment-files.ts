import { dirname } from 'node:path';
import type { EnrolmentVault } from '../consent/verification/voice-evidence.ts';
import type { DataPaths } from './data-paths.ts';
import { readEncryptedFileAll, writeEncryptedFile } from './encrypted-file.ts';
import { requireDataKey, type DataKeySource } from './voice-file-store.ts';

/**
 * Consent voiceprints on disk, encrypted under the owner's data key and bound to user
 * and consent id, like sample clips: destroying the key on revocation shreds them, and
 * the erasure of the user's folder removes them.
 */
export class EnrolmentFiles implements EnrolmentVault {
  readonly #paths: DataPaths;
  readonly #keys: DataKeySource;

  constructor(paths: DataPaths, keys: DataKeySource) {
    this.#paths = paths;
    this.#keys = keys;
  }

  async write(userId: string, consentId: string, enrolment: Uint8Array): Promise<void> {
    const file = this.#paths.enrolmentFile(userId, consentId);
    await this.#paths.ensureDir(dirname(file));
    await writeEncryptedFile(file, requireDataKey(this.#keys, userId), this.#paths.enrolmentIdentity(userId, consentId), enrolment);
  }

  async read(userId: string, consentId: string): Promise<Uint8Array | null> {
    try {
      return await readEncryptedFileAll(
        this.#paths.enrolmentFile(userId, consentId),
        requireDataKey(this.#keys, userId),
        this.#paths.enrolmentIdentity(userId, consentId),
      );
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
      throw error;
    }
  }
}
