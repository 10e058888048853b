import { randomBytes } from 'node:crypto';
import type { File } from 'telegraf/types';

export interface StoredFile {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly filePath: string;
  readonly bytes: Buffer;
  /** Size reported by the API; may exceed bytes.length to simulate huge files cheaply. */
  readonly size: number;
  readonly mimeType: string | undefined;
}

export interface AddFileOptions {
  /** Reported file_size; defaults to the byte length. Lets a test fake a 25 MB file without allocating it. */
  readonly size?: number;
  /** Folder the real API would use: voice, music, documents... Defaults to `documents`. */
  readonly kind?: 'voice' | 'music' | 'documents' | 'photos' | 'videos';
  readonly extension?: string;
  readonly mimeType?: string;
}

/** getFile refuses downloads above 20 MB, exactly like api.telegram.org. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

const DEFAULT_EXTENSION: Record<NonNullable<AddFileOptions['kind']>, string> = {
  voice: 'oga',
  music: 'mp3',
  documents: 'dat',
  photos: 'jpg',
  videos: 'mp4',
};

export class FileStore {
  readonly #byId = new Map<string, StoredFile>();
  readonly #byPath = new Map<string, StoredFile>();
  #counter = 0;

  add(bytes: Uint8Array, options: AddFileOptions = {}): StoredFile {
    this.#counter += 1;
    const kind = options.kind ?? 'documents';
    const extension = options.extension ?? DEFAULT_EXTENSION[kind];
    const file: StoredFile = {
      // Real ids are opaque base64url strings; the prefix only mimics their look.
      fileId: `AwACAgIAAxkBAAI${this.#counter}${randomBytes(18).toString('base64url')}`,
      fileUniqueId: `AgAD${randomBytes(9).toString('base64url')}`,
      filePath: `${kind}/file_${this.#counter}.${extension}`,
      bytes: Buffer.from(bytes),
      size: options.size ?? bytes.byteLength,
      mimeType: options.mimeType,
    };
    this.#byId.set(file.fileId, file);
    this.#byPath.set(file.filePath, file);
    return file;
  }

  get(fileId: string): StoredFile | undefined {
    return this.#byId.get(fileId);
  }

  byPath(filePath: string): StoredFile | undefined {
    return this.#byPath.get(filePath);
  }

  describe(file: StoredFile): File {
    return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.size, file_path: file.filePath };
  }
}
