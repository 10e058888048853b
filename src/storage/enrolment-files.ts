import type { EnrolmentVault } from '../consent/verification/voice-evidence.ts';
import { BlobNotFoundError, type BlobStore } from './blob-store.ts';
import { getEncryptedAll, putEncrypted } from './encrypted-blobs.ts';
import { enrolmentIdentity, enrolmentKey } from './object-keys.ts';
import { requireDataKey, type DataKeySource } from './voice-file-store.ts';

/**
 * Consent voiceprints in the blob store, encrypted under the owner's data key and bound to
 * user and consent id, like sample clips: destroying the key on revocation shreds them, and
 * the erasure of the user's prefix removes them.
 */
export class EnrolmentFiles implements EnrolmentVault {
  readonly #store: BlobStore;
  readonly #keys: DataKeySource;

  constructor(store: BlobStore, keys: DataKeySource) {
    this.#store = store;
    this.#keys = keys;
  }

  async write(userId: string, consentId: string, enrolment: Uint8Array): Promise<void> {
    await putEncrypted(this.#store, enrolmentKey(userId, consentId), requireDataKey(this.#keys, userId), enrolmentIdentity(userId, consentId), enrolment);
  }

  async read(userId: string, consentId: string): Promise<Uint8Array | null> {
    try {
      return await getEncryptedAll(this.#store, enrolmentKey(userId, consentId), requireDataKey(this.#keys, userId), enrolmentIdentity(userId, consentId));
    } catch (error) {
      if (error instanceof BlobNotFoundError) return null;
      throw error;
    }
  }
}
