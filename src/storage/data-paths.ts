import { mkdir, chmod } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { clipIdentity, enrolmentIdentity, voiceFileIdentity } from './object-keys.ts';

/**
 * The data directory's layout, and the only place paths into it are built.
 * Every segment is an internal id or a fixed name checked against a strict pattern,
 * so no platform name, user text or `..` can ever reach the filesystem.
 *
 *   <data>/master.key                          master key file (0600) when not in the environment
 *   <data>/vocalis.sqlite                      database
 *   <data>/redis/                              the bundled Redis's folder
 *   <data>/scratch/<jobId>/                    per-job plaintext scratch, wiped after the job
 *   <data>/users/<userId>/samples/<id>.enc     encrypted sample clips
 *   <data>/users/<userId>/voices/<voiceId>/v<version>/<name>.enc   encrypted model files
 *
 * Below `users/` the layout is the object keys' (`object-keys.ts`): the filesystem blob store
 * keeps object `K` at `<data>/K`.
 */

const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Model file names a backend picks, e.g. `gpt.onnx`, `ref-1.wav`, `stats.json`. */
const FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const ENCRYPTED_SUFFIX = '.enc';

export class UnsafePathError extends Error {
  constructor(what: string) {
    // The offending value is not echoed: it may be user-controlled text.
    super(`unsafe ${what}: only internal ids and plain file names may become paths`);
    this.name = 'UnsafePathError';
  }
}

export function assertSafeId(id: string, what = 'id'): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new UnsafePathError(what);
  return id;
}

export function assertSafeFileName(name: string): string {
  if (typeof name !== 'string' || !FILE_NAME_PATTERN.test(name) || name.includes('..')) throw new UnsafePathError('file name');
  return name;
}

function assertVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 0) throw new UnsafePathError('version');
  return version;
}

export class DataPaths {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = resolve(dataDir);
  }

  get databaseFile(): string {
    return join(this.root, 'vocalis.sqlite');
  }

  get masterKeyFile(): string {
    return join(this.root, 'master.key');
  }

  get redisDir(): string {
    return join(this.root, 'redis');
  }

  get scratchRoot(): string {
    return join(this.root, 'scratch');
  }

  get usersRoot(): string {
    return join(this.root, 'users');
  }

  userDir(userId: string): string {
    return this.#inside(this.usersRoot, assertSafeId(userId, 'user id'));
  }

  /** The folder of a user's sample: the clips it is made of, one file each. */
  samplesDir(userId: string): string {
    return this.#inside(this.userDir(userId), 'samples');
  }

  /** One clip of the sample. */
  clipFile(userId: string, clipId: string): string {
    return this.#inside(this.samplesDir(userId), `${assertSafeId(clipId, 'clip id')}${ENCRYPTED_SUFFIX}`);
  }

  voiceDir(userId: string, voiceId: string): string {
    return this.#inside(this.userDir(userId), 'voices', assertSafeId(voiceId, 'voice id'));
  }

  voiceVersionDir(userId: string, voiceId: string, version: number): string {
    return this.#inside(this.voiceDir(userId, voiceId), `v${assertVersion(version)}`);
  }

  voiceFile(userId: string, voiceId: string, version: number, name: string): string {
    return this.#inside(this.voiceVersionDir(userId, voiceId, version), `${assertSafeFileName(name)}${ENCRYPTED_SUFFIX}`);
  }

  /** A consent's voiceprint (speaker enrolment): biometric data, in the user's folder so erasure takes it. */
  enrolmentFile(userId: string, consentId: string): string {
    return this.#inside(this.userDir(userId), 'enrolment', `${assertSafeId(consentId, 'consent id')}${ENCRYPTED_SUFFIX}`);
  }

  enrolmentIdentity(userId: string, consentId: string): string {
    return enrolmentIdentity(userId, consentId);
  }

  scratchDir(jobId: string): string {
    return this.#inside(this.scratchRoot, assertSafeId(jobId, 'job id'));
  }

  /** The identity bound into a clip's ciphertext (`object-keys.ts` defines it). */
  clipIdentity(userId: string, clipId: string): string {
    return clipIdentity(userId, clipId);
  }

  voiceFileIdentity(userId: string, voiceId: string, version: number, name: string): string {
    return voiceFileIdentity(userId, voiceId, version, name);
  }

  /** Creates a folder inside the data dir (and its parents) private to the service: 0700. */
  async ensureDir(dir: string): Promise<string> {
    const target = this.#checked(dir);
    await mkdir(target, { recursive: true, mode: 0o700 });
    await chmod(target, 0o700); // mkdir's mode is filtered by umask and skipped for existing folders
    return target;
  }

  /** Resolves `dir` and proves it is the data dir or below it. */
  #checked(path: string): string {
    const target = resolve(path);
    const rel = relative(this.root, target);
    if (rel === '') return target;
    if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) throw new UnsafePathError('path outside the data directory');
    return target;
  }

  #inside(base: string, ...segments: string[]): string {
    return this.#checked(join(base, ...segments));
  }
}
