import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BlobStore } from '../src/storage/blob-store.ts';
import { DataKeyStore } from '../src/storage/data-keys.ts';
import { DataPaths } from '../src/storage/data-paths.ts';
import type { FileKey } from '../src/storage/encrypted-file.ts';
import { getEncrypted, putEncrypted } from '../src/storage/encrypted-blobs.ts';
import { FilesystemBlobStore } from '../src/storage/filesystem-blob-store.ts';
import { MasterKey } from '../src/storage/master-key.ts';
import { voiceFileIdentity, voiceFileKey } from '../src/storage/object-keys.ts';
import { S3BlobStore } from '../src/storage/s3-blob-store.ts';
import { SqliteDatabase } from '../src/storage/sqlite-database.ts';
import { eraseUserFiles } from '../src/storage/user-erasure.ts';
import { S3_TEST_CREDENTIALS, S3_TEST_REGION, startTestS3 } from '../test/support/s3-server.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Where encrypted files live: a model-sized file (default 256 MiB, `--object-mb N`) sealed and
 * stored, then read back and opened, through the data directory and through S3 (the test
 * server, s3rver, on loopback: its own disk writes and HTTP on this machine, so the S3 figure is
 * a floor for the client side, not a figure for a real object store); and erasing a user of 200
 * objects with the proving listing. Peak live Buffer memory (after a full GC) is reported too:
 * streaming keeps it far below the file's size.
 */
const MiB = 1024 * 1024;
const ROUNDS = 3;
const ERASE_OBJECTS = 200;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

async function* generated(total: number): AsyncGenerator<Uint8Array> {
  const piece = randomBytes(MiB);
  for (let offset = 0; offset < total; offset += MiB) yield piece.subarray(0, Math.min(MiB, total - offset));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measureStore(store: BlobStore, key: FileKey, size: number): Promise<{ put: number; get: number; peakMiB: number }> {
  const objectKey = voiceFileKey('u_bench', 'v_bench', 1, 'gpt.onnx');
  const identity = voiceFileIdentity('u_bench', 'v_bench', 1, 'gpt.onnx');
  const roundTrip = async (): Promise<{ put: number; get: number }> => {
    let start = performance.now();
    await putEncrypted(store, objectKey, key, identity, { stream: generated(size), length: size });
    const put = size / MiB / ((performance.now() - start) / 1000);
    start = performance.now();
    let bytes = 0;
    for await (const part of getEncrypted(store, objectKey, key, identity)) bytes += part.byteLength;
    if (bytes !== size) throw new Error('read back a different length');
    return { put, get: size / MiB / ((performance.now() - start) / 1000) };
  };
  const put: number[] = [];
  const get: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const speeds = await roundTrip();
    put.push(speeds.put);
    get.push(speeds.get);
  }
  // One more round for memory alone: live Buffers after a full GC every 50 ms (the GCs would slow the timed rounds).
  collectGarbage();
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const sampler = setInterval(() => {
    // Twice: a full GC first finishes the previous one's concurrent sweeping of freed backing stores.
    collectGarbage();
    collectGarbage();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }, 50);
  try {
    await roundTrip();
  } finally {
    clearInterval(sampler);
  }
  await store.deletePrefix('users/u_bench/');
  return { put: median(put), get: median(get), peakMiB: (peak - base) / MiB };
}

async function measureErase(store: BlobStore, key: FileKey): Promise<number> {
  for (let i = 0; i < ERASE_OBJECTS; i += 1) {
    const name = `part-${i}.bin`;
    await putEncrypted(store, voiceFileKey('u_erase', 'v_1', 1, name), key, voiceFileIdentity('u_erase', 'v_1', 1, name), randomBytes(4096));
  }
  const start = performance.now();
  const erased = await eraseUserFiles(store, 'u_erase');
  const ms = performance.now() - start;
  if (erased.files !== ERASE_OBJECTS) throw new Error(`erased ${erased.files} of ${ERASE_OBJECTS}`);
  return ms;
}

const suite: BenchSuite = {
  name: 'object-store',
  async run({ args }) {
    const size = Math.round(option(args, '--object-mb', 256) * MiB);
    const db = new SqliteDatabase(':memory:');
    db.exec('CREATE TABLE data_keys (user_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL)');
    const fileKey: FileKey = new DataKeyStore(db, new MasterKey(randomBytes(32))).getOrCreate('u_bench');
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-bench-objects-'));
    process.env['AWS_ACCESS_KEY_ID'] ??= S3_TEST_CREDENTIALS.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] ??= S3_TEST_CREDENTIALS.secretAccessKey;
    const s3 = await startTestS3();
    const fsStore = new FilesystemBlobStore(new DataPaths(dir));
    const s3Store = new S3BlobStore({ bucket: s3.bucket, endpoint: s3.endpoint, region: S3_TEST_REGION });
    try {
      const fsRun = await measureStore(fsStore, fileKey, size);
      const s3Run = await measureStore(s3Store, fileKey, size);
      const fsErase = await measureErase(fsStore, fileKey);
      const s3Erase = await measureErase(s3Store, fileKey);
      const mb = (size / MiB).toFixed(0);
      return [
        { metric: `model file size`, value: size / MiB, unit: 'MiB' },
        { metric: `filesystem: seal + atomic write (fsync), median of ${ROUNDS}`, value: Number(fsRun.put.toFixed(1)), unit: 'MiB/s' },
        { metric: `filesystem: read + open, median of ${ROUNDS}`, value: Number(fsRun.get.toFixed(1)), unit: 'MiB/s' },
        { metric: `s3 (s3rver, loopback): seal + upload in 8 MiB parts, median of ${ROUNDS}`, value: Number(s3Run.put.toFixed(1)), unit: 'MiB/s' },
        { metric: `s3 (s3rver, loopback): GetObject + open, median of ${ROUNDS}`, value: Number(s3Run.get.toFixed(1)), unit: 'MiB/s' },
        { metric: `filesystem: peak live Buffer growth over a ${mb} MiB put+get`, value: Number(fsRun.peakMiB.toFixed(1)), unit: 'MiB' },
        { metric: `s3: peak live Buffer growth over a ${mb} MiB put+get`, value: Number(s3Run.peakMiB.toFixed(1)), unit: 'MiB' },
        { metric: `filesystem: erase a user of ${ERASE_OBJECTS} files + proving listing`, value: Number(fsErase.toFixed(1)), unit: 'ms' },
        { metric: `s3: erase a user of ${ERASE_OBJECTS} objects + proving listing`, value: Number(s3Erase.toFixed(1)), unit: 'ms' },
      ] satisfies BenchFigure[];
    } finally {
      await s3Store.close();
      await s3.cleanup();
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
