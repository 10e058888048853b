import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The service's root secret. It never encrypts user data directly: it wraps each
 * user's data key, and a separate HKDF subkey seals the consent ledger's anchor.
 * The raw key stays inside this module; callers get wrap/unwrap/hmac only.
 */

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of every wrapped blob, so a later format can be told apart. */
const WRAP_FORMAT = 1;
const WRAP_INFO = 'vocalis/master/wrap/v1';
const MAC_INFO = 'vocalis/master/ledger-anchor/v1';

const HOW_TO_MAKE = 'generate one with `openssl rand -base64 32`';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/** Raised when a wrapped blob does not open: another master key, another AAD, or damage. */
export class UnwrapError extends Error {
  constructor() {
    super('wrapped key could not be opened (different master key, different owner, or damaged)');
    this.name = 'UnwrapError';
  }
}

export class MasterKey {
  readonly #wrapKey: Buffer;
  readonly #macKey: Buffer;

  /** Use `loadMasterKey`; this is public only so tests can build one from known bytes. */
  constructor(raw: Uint8Array) {
    if (raw.byteLength !== KEY_BYTES) throw new MasterKeyError(`master key must be ${KEY_BYTES} bytes`);
    // Two independent subkeys: the wrapping key is never used as an HMAC key and vice versa.
    this.#wrapKey = Buffer.from(hkdfSync('sha256', raw, new Uint8Array(0), WRAP_INFO, KEY_BYTES));
    this.#macKey = Buffer.from(hkdfSync('sha256', raw, new Uint8Array(0), MAC_INFO, KEY_BYTES));
  }

  /** AES-256-GCM seal of `plain`, bound to `aad` (e.g. the owner's id). */
  wrap(plain: Uint8Array, aad: string | Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#wrapKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(toBytes(aad));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(WRAP_FORMAT), nonce, body, cipher.getAuthTag()]);
  }

  /** Opens a blob from `wrap`; throws `UnwrapError` unless the key and the AAD both match. */
  unwrap(wrapped: Uint8Array, aad: string | Uint8Array): Buffer {
    const blob = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
    if (blob.byteLength < 1 + NONCE_BYTES + TAG_BYTES || blob[0] !== WRAP_FORMAT) throw new UnwrapError();
    const nonce = blob.subarray(1, 1 + NONCE_BYTES);
    const tag = blob.subarray(blob.byteLength - TAG_BYTES);
    const body = blob.subarray(1 + NONCE_BYTES, blob.byteLength - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#wrapKey, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(toBytes(aad));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new UnwrapError();
    }
  }

  /** HMAC-SHA256 (hex) with the ledger-anchor subkey; fits the ledger's `LedgerSealer.seal`. */
  hmac(data: string | Uint8Array): string {
    return createHmac('sha256', this.#macKey).update(toBytes(data)).digest('hex');
  }
}

export interface LoadMasterKeyOptions {
  /** The value of VOCALIS_MASTER_KEY, if set. It wins over the key file. */
  readonly env?: string | undefined;
  /** Where the key lives when the environment gives none; created (0600) at first start. */
  readonly keyFile: string;
}

export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<MasterKey> {
  if (options.env !== undefined && options.env.trim() !== '') {
    const raw = parseKeyText(options.env);
    if (!raw) throw new MasterKeyError(`VOCALIS_MASTER_KEY must be ${KEY_BYTES} bytes written as base64 or as 64 hex characters; ${HOW_TO_MAKE}`);
    return new MasterKey(raw);
  }
  return new MasterKey(await readOrCreateKeyFile(options.keyFile));
}

/** Accepts 64 hex characters or base64/base64url of exactly 32 bytes; anything else is null. */
export function parseKeyText(text: string): Buffer | null {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) return null;
  const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.byteLength === KEY_BYTES ? bytes : null;
}

async function readOrCreateKeyFile(keyFile: string): Promise<Buffer> {
  const existing = await readKeyFile(keyFile);
  if (existing) return existing;
  await createKeyFile(keyFile);
  const created = await readKeyFile(keyFile);
  if (!created) throw new MasterKeyError(`master key file ${keyFile} vanished right after it was created`);
  return created;
}

/** Reads the key file, or returns null when it does not exist. Refuses loose permissions. */
async function readKeyFile(keyFile: string): Promise<Buffer | null> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink planted at the key path is refused, not followed.
    handle = await open(keyFile, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    if (errorCode(error) === 'ELOOP') throw new MasterKeyError(`master key file ${keyFile} is a symbolic link; replace it with the real file`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MasterKeyError(`master key file ${keyFile} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw new MasterKeyError(
        `master key file ${keyFile} is accessible by group or other users (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${keyFile}\` and start again`,
      );
    }
    const raw = parseKeyText(await handle.readFile('utf8'));
    if (!raw) throw new MasterKeyError(`master key file ${keyFile} does not hold a ${KEY_BYTES}-byte key in base64 or hex`);
    return raw;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a fresh key to a private temp file, fsyncs it, then hard-links it into place.
 * `link` fails if the name exists, so when two processes start at once exactly one key
 * wins and the loser simply reads the winner's file.
 */
async function createKeyFile(keyFile: string): Promise<void> {
  const dir = dirname(keyFile);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(keyFile)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.chmod(0o600); // umask cannot widen it, but make the intent explicit
    await handle.writeFile(`${randomBytes(KEY_BYTES).toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, keyFile);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
