import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageError, type EncryptedFileErrorCode } from './storage-error.ts';

/**
 * Chunked AES-256-GCM file format for samples and model files, written and read as streams.
 *
 * Layout (all integers big-endian):
 *   header  magic "VOCALENC" | version u8 | flags u8 | reserved u16 | chunk size u32 | salt 16
 *           | plaintext length u64 | key commitment 32 | crc32 of the preceding 72 bytes
 *   chunks  ciphertext (chunk size, the last one 0..chunk size) | GCM tag 16
 *
 * Each file gets its own key, derived from the user's data key with HKDF over a random
 * salt, so (key, nonce) pairs never repeat across files; the nonce is a derived prefix
 * plus the chunk index. Every chunk's AAD carries the header, the chunk index, a final
 * flag (with the total length on the last chunk) and the file's logical identity: reordering,
 * truncating, extending or moving a file to another identity all fail authentication.
 * The commitment lets a reader tell "wrong key" from "damaged"; the CRC only classifies
 * header damage (it is not a security check: the AAD is).
 */

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MIN_CHUNK_SIZE = 16;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAGIC = Buffer.from('VOCALENC', 'latin1');
const VERSION = 1;
const SALT_BYTES = 16;
const COMMIT_BYTES = 32;
const TAG_BYTES = 16;
const AAD_PREFIX_BYTES = 32; // magic .. salt
const LENGTH_OFFSET = 32;
const COMMIT_OFFSET = 40;
const CRC_OFFSET = 72;
export const HEADER_BYTES = 76;
const KEY_INFO = 'vocalis/file/v1/key';
const COMMIT_INFO = 'vocalis/file/v1/commit';

/** What the codec needs from a key: subkeys only (`DataKey` satisfies it). */
export interface FileKey {
  derive(salt: Uint8Array, info: string, length: number): Uint8Array;
}

export type { EncryptedFileErrorCode };

export class EncryptedFileError extends StorageError {
  declare readonly code: EncryptedFileErrorCode;
  constructor(code: EncryptedFileErrorCode, message: string) {
    super(code, message);
    this.name = 'EncryptedFileError';
  }
}

/** The volume (or the quota) is full. Nothing was left at the target path. */
export class StorageFullError extends StorageError {
  declare readonly code: 'storage_full';
  constructor(cause: unknown) {
    super('storage_full', 'no space left on the data volume; the file was not written', { cause });
    this.name = 'StorageFullError';
  }
}

/** The low-level file operations the writer uses, injectable so tests can fail them. */
export interface FileSink {
  /** Creates a new private (0600) file; fails if it exists. */
  create(path: string): Promise<SinkFile>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  syncDir(dir: string): Promise<void>;
}

export interface SinkFile {
  /** Writes all of `data` at `position` (or throws). */
  write(data: Uint8Array, position: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeFileSink: FileSink = {
  async create(path) {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    return {
      async write(data, position) {
        let done = 0;
        while (done < data.byteLength) {
          const { bytesWritten } = await handle.write(data, done, data.byteLength - done, position + done);
          done += bytesWritten;
        }
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
  async syncDir(dir) {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

export interface WriteEncryptedOptions {
  readonly sink?: FileSink;
  /** Plaintext bytes per chunk; readers take it from the header. */
  readonly chunkSize?: number;
  readonly signal?: AbortSignal;
}

export interface WrittenFile {
  readonly plaintextBytes: number;
  readonly storedBytes: number;
}

/** Size on disk of a file holding `plaintextBytes`, for quotas and checks. */
export function encryptedSize(plaintextBytes: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return HEADER_BYTES + plaintextBytes + chunkCount(plaintextBytes, chunkSize) * TAG_BYTES;
}

/**
 * Encrypts `source` into `path` atomically: a temp file in the same folder, fsync,
 * rename, fsync of the folder. On any failure the temp file is removed and nothing
 * appears at `path`; a full disk or quota is reported as `StorageFullError`.
 */
export async function writeEncryptedFile(
  path: string,
  key: FileKey,
  identity: string,
  source: AsyncIterable<Uint8Array> | Uint8Array,
  options: WriteEncryptedOptions = {},
): Promise<WrittenFile> {
  const chunkSize = checkedChunkSize(options.chunkSize);
  const header = newHeader(chunkSize);
  const crypto = fileCrypto(key, header, identity);
  crypto.commitment.copy(header, COMMIT_OFFSET);
  const staging = Buffer.alloc(chunkSize);
  try {
    return await writeAtomically(path, options.sink ?? nodeFileSink, async (out) => {
      let position = HEADER_BYTES;
      let index = 0;
      let total = 0;
      await out.write(header, 0); // placeholder; the length and CRC are filled in at the end
      for await (const chunk of plaintextChunks(source, staging, options.signal)) {
        total = chunk.total;
        const record = crypto.seal(chunk.plain, index, chunk.final ? total : null);
        await out.write(record, position);
        position += record.byteLength;
        index += 1;
      }
      finishHeader(header, total);
      await out.write(header, 0);
      return { plaintextBytes: total, storedBytes: position };
    });
  } finally {
    staging.fill(0);
  }
}

/**
 * Creates `path` atomically with what `fill` writes: a private temp file in the same folder,
 * fsync, rename, fsync of the folder. On any failure the temp file is removed and nothing
 * appears at `path`; a full disk or quota is reported as `StorageFullError`.
 */
export async function writeAtomically<T>(path: string, sink: FileSink, fill: (out: SinkFile) => Promise<T>): Promise<T> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let file: SinkFile | undefined;
  try {
    file = await sink.create(temp);
    const out = file;
    const result = await fill(out);
    await out.sync();
    file = undefined;
    await out.close();
    await sink.rename(temp, path);
    await sink.syncDir(dir);
    return result;
  } catch (error) {
    if (file) await file.close().catch(() => undefined);
    await sink.remove(temp).catch(() => undefined);
    const code = errorCode(error);
    throw code === 'ENOSPC' || code === 'EDQUOT' ? new StorageFullError(error) : error;
  }
}

/**
 * Cuts `source` into the format's plaintext chunks, each `staging` filled (the caller seals it
 * before asking for the next). A full chunk is handed on only once more data exists, so the
 * last chunk, possibly empty, is always the one marked final; `total` counts the bytes so far.
 */
async function* plaintextChunks(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  staging: Buffer,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ readonly plain: Uint8Array; readonly final: boolean; readonly total: number }> {
  let filled = 0;
  let total = 0;
  for await (const piece of pieces(source)) {
    signal?.throwIfAborted();
    let offset = 0;
    while (offset < piece.byteLength) {
      if (filled === staging.byteLength) {
        yield { plain: staging, final: false, total };
        filled = 0;
      }
      const n = Math.min(staging.byteLength - filled, piece.byteLength - offset);
      staging.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      total += n;
    }
  }
  signal?.throwIfAborted();
  yield { plain: staging.subarray(0, filled), final: true, total };
}

/**
 * The same file format as `writeEncryptedFile`, produced as a stream for a store that uploads
 * it (header first, then each chunk's record; `encryptedSize(plaintextBytes, chunkSize)` bytes in
 * all). The length must be known up front because the header carries it; a source that yields
 * more or fewer bytes fails the stream before its final chunk, so no complete file results.
 */
export async function* encryptToStream(
  key: FileKey,
  identity: string,
  source: AsyncIterable<Uint8Array> | Uint8Array,
  plaintextBytes: number,
  options: Pick<WriteEncryptedOptions, 'chunkSize' | 'signal'> = {},
): AsyncGenerator<Buffer, void, undefined> {
  if (!Number.isSafeInteger(plaintextBytes) || plaintextBytes < 0) throw new RangeError('plaintext length must be a non-negative integer');
  const chunkSize = checkedChunkSize(options.chunkSize);
  const header = newHeader(chunkSize);
  const crypto = fileCrypto(key, header, identity);
  crypto.commitment.copy(header, COMMIT_OFFSET);
  finishHeader(header, plaintextBytes);
  const staging = Buffer.alloc(chunkSize);
  const lengthMismatch = () => new RangeError(`the source did not hold the ${plaintextBytes} bytes it was declared with`);
  try {
    yield header;
    let index = 0;
    for await (const chunk of plaintextChunks(source, staging, options.signal)) {
      if (chunk.total > plaintextBytes || (chunk.final && chunk.total !== plaintextBytes)) throw lengthMismatch();
      yield crypto.seal(chunk.plain, index, chunk.final ? chunk.total : null);
      index += 1;
    }
  } finally {
    staging.fill(0);
  }
}

/**
 * Streams the decrypted contents of `path`, one verified chunk at a time. Nothing
 * unauthenticated is ever yielded; a failure part-way means the whole read failed.
 */
export async function* readEncryptedFile(path: string, key: FileKey, identity: string): AsyncGenerator<Uint8Array, void, undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = (await handle.stat()).size;
    yield* decryptStream(fileContents(handle), size, key, identity);
  } finally {
    await handle.close();
  }
}

/**
 * Decrypts a stored file arriving as a byte stream (a local file or an object store's response
 * body) of `size` bytes, one verified chunk at a time, holding at most one chunk. Nothing
 * unauthenticated is ever yielded; a failure part-way means the whole read failed. A stream that
 * ends early or runs on past its header's length fails as a cut-off or altered file does.
 */
export async function* decryptStream(
  body: AsyncIterable<Uint8Array>,
  size: number,
  key: FileKey,
  identity: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = new ExactReader(body);
  try {
    const parsed = parseHeader(await reader.read(HEADER_BYTES));
    const crypto = fileCrypto(key, parsed.header, identity);
    if (!crypto.commitmentMatches(parsed.header)) throw new EncryptedFileError('wrong_key', 'the file was encrypted with a different key');
    const expected = encryptedSize(parsed.length, parsed.chunkSize);
    if (size < expected) throw new EncryptedFileError('truncated', 'the file is shorter than its header says: it was cut off');
    if (size > expected) throw new EncryptedFileError('tampered', 'the file is longer than its header says');
    const count = chunkCount(parsed.length, parsed.chunkSize);
    for (let index = 0; index < count; index += 1) {
      const final = index === count - 1;
      const plainBytes = final ? parsed.length - index * parsed.chunkSize : parsed.chunkSize;
      const record = await reader.read(plainBytes + TAG_BYTES);
      if (record.byteLength !== plainBytes + TAG_BYTES) throw new EncryptedFileError('truncated', 'the file ended early');
      const plain = crypto.open(record, index, final ? parsed.length : null);
      if (final && (await reader.read(1)).byteLength > 0) {
        plain.fill(0);
        throw new EncryptedFileError('tampered', 'the file runs on past its last chunk');
      }
      yield plain;
    }
  } finally {
    await reader.close();
  }
}
/** The whole decrypted file in memory; for model files and short clips. */
export async function readEncryptedFileAll(path: string, key: FileKey, identity: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of readEncryptedFile(path, key, identity)) parts.push(part);
  return Buffer.concat(parts);
}

function chunkCount(plaintextBytes: number, chunkSize: number): number {
  // An empty file still has one (empty, final) chunk, so its end is authenticated too.
  return Math.max(1, Math.ceil(plaintextBytes / chunkSize));
}

function newHeader(chunkSize: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(VERSION, 8);
  header.writeUInt32BE(chunkSize, 12);
  randomBytes(SALT_BYTES).copy(header, 16);
  return header;
}

function finishHeader(header: Buffer, plaintextBytes: number): void {
  header.writeBigUInt64BE(BigInt(plaintextBytes), LENGTH_OFFSET);
  header.writeUInt32BE(crc32(header.subarray(0, CRC_OFFSET)), CRC_OFFSET);
}

interface ParsedHeader {
  readonly header: Buffer;
  readonly chunkSize: number;
  readonly length: number;
}

function parseHeader(header: Buffer): ParsedHeader {
  const magicBytes = Math.min(header.byteLength, MAGIC.byteLength);
  if (magicBytes === 0 || !header.subarray(0, magicBytes).equals(MAGIC.subarray(0, magicBytes))) {
    throw new EncryptedFileError('not_encrypted', 'not a Vocalis encrypted file');
  }
  if (header.byteLength < HEADER_BYTES) throw new EncryptedFileError('truncated', 'the file ends inside its header');
  const version = header.readUInt8(8);
  if (version !== VERSION) throw new EncryptedFileError('not_encrypted', `unsupported encrypted file version ${version}`);
  if (header.readUInt32BE(CRC_OFFSET) !== crc32(header.subarray(0, CRC_OFFSET))) {
    throw new EncryptedFileError('tampered', 'the file header is damaged');
  }
  const chunkSize = header.readUInt32BE(12);
  const length = header.readBigUInt64BE(LENGTH_OFFSET);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || length > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new EncryptedFileError('tampered', 'the file header holds impossible values');
  }
  return { header, chunkSize, length: Number(length) };
}

interface FileCrypto {
  readonly commitment: Buffer;
  seal(plain: Uint8Array, index: number, finalLength: number | null): Buffer;
  open(record: Buffer, index: number, finalLength: number | null): Buffer;
  commitmentMatches(header: Buffer): boolean;
}

/** Per-file key, nonce prefix and commitment, all derived from the data key and the header's salt. */
function fileCrypto(key: FileKey, header: Buffer, identity: string): FileCrypto {
  const salt = header.subarray(16, 16 + SALT_BYTES);
  const material = key.derive(salt, KEY_INFO, 32 + 4);
  const fileKey = material.subarray(0, 32);
  const noncePrefix = material.subarray(32, 36);
  const commitment = Buffer.from(key.derive(salt, COMMIT_INFO, COMMIT_BYTES));
  const identityBytes = Buffer.from(identity, 'utf8');
  const aadPrefix = Buffer.from(header.subarray(0, AAD_PREFIX_BYTES));

  const nonce = (index: number): Buffer => {
    const n = Buffer.alloc(12);
    n.set(noncePrefix, 0);
    n.writeBigUInt64BE(BigInt(index), 4);
    return n;
  };
  const aad = (index: number, finalLength: number | null): Buffer => {
    const position = Buffer.alloc(17);
    position.writeBigUInt64BE(BigInt(index), 0);
    position.writeUInt8(finalLength === null ? 0 : 1, 8);
    position.writeBigUInt64BE(BigInt(finalLength ?? 0), 9);
    return Buffer.concat([aadPrefix, position, identityBytes]);
  };
  const tryOpen = (record: Buffer, index: number, finalLength: number | null): Buffer | null => {
    const body = record.subarray(0, record.byteLength - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', fileKey, nonce(index), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(index, finalLength));
    decipher.setAuthTag(record.subarray(record.byteLength - TAG_BYTES));
    const plain = decipher.update(body);
    try {
      decipher.final();
      return plain;
    } catch {
      plain.fill(0); // never let unauthenticated plaintext escape
      return null;
    }
  };

  return {
    commitment,
    seal(plain, index, finalLength) {
      const cipher = createCipheriv('aes-256-gcm', fileKey, nonce(index), { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(index, finalLength));
      return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    },
    open(record, index, finalLength) {
      const plain = tryOpen(record, index, finalLength);
      if (plain) return plain;
      // A last chunk that opens as a middle one means the real end was cut off (header rewritten to match).
      if (finalLength !== null && tryOpen(record, index, null)) {
        throw new EncryptedFileError('truncated', 'the file was cut off at a chunk boundary');
      }
      throw new EncryptedFileError('tampered', 'a chunk failed authentication: the file was altered, or belongs to another identity');
    },
    commitmentMatches(h) {
      return timingSafeEqual(h.subarray(COMMIT_OFFSET, COMMIT_OFFSET + COMMIT_BYTES), commitment);
    },
  };
}

async function* pieces(source: AsyncIterable<Uint8Array> | Uint8Array): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw new TypeError('encrypted file source must yield Uint8Array chunks');
    yield piece;
  }
}

function checkedChunkSize(chunkSize = DEFAULT_CHUNK_SIZE): number {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be an integer in ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`);
  }
  return chunkSize;
}

const FILE_READ_BYTES = 256 * 1024;

/** A file's bytes from the start, in pieces (fresh buffers: the reader may keep one). */
export async function* fileContents(handle: FileHandle): AsyncGenerator<Uint8Array> {
  let position = 0;
  for (;;) {
    const piece = Buffer.allocUnsafe(FILE_READ_BYTES);
    const { bytesRead } = await handle.read(piece, 0, piece.byteLength, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield piece.subarray(0, bytesRead);
  }
}

/** Reads exact byte counts from a stream of pieces of any size. */
class ExactReader {
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.#source = body[Symbol.asyncIterator]();
  }

  /** The next `n` bytes, fewer only where the stream ends. */
  async read(n: number): Promise<Buffer> {
    while (this.#pendingBytes < n && !this.#ended) {
      const next = await this.#source.next();
      if (next.done) {
        this.#ended = true;
        break;
      }
      const piece = next.value;
      if (!(piece instanceof Uint8Array)) throw new TypeError('a stored file must stream Uint8Array pieces');
      if (piece.byteLength === 0) continue;
      this.#pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      this.#pendingBytes += piece.byteLength;
    }
    const take = Math.min(n, this.#pendingBytes);
    const first = this.#pending[0];
    let out: Buffer;
    if (first && first.byteLength >= take) {
      out = first.subarray(0, take);
      if (first.byteLength === take) this.#pending.shift();
      else this.#pending[0] = first.subarray(take);
    } else {
      out = Buffer.allocUnsafe(take);
      let filled = 0;
      while (filled < take) {
        const head = this.#pending[0] as Buffer;
        const part = Math.min(head.byteLength, take - filled);
        head.copy(out, filled, 0, part);
        filled += part;
        if (part === head.byteLength) this.#pending.shift();
        else this.#pending[0] = head.subarray(part);
      }
    }
    this.#pendingBytes -= take;
    return out;
  }

  /** Stops the source early (closes its file or connection). */
  async close(): Promise<void> {
    this.#pending.length = 0;
    if (!this.#ended) await this.#source.return?.();
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
