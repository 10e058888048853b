import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../src/storage/sqlite-database.ts';
import { DataKeyStore } from '../src/storage/data-keys.ts';
import { readEncryptedFile, writeEncryptedFile } from '../src/storage/encrypted-file.ts';
import { MasterKey } from '../src/storage/master-key.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Encryption at rest: throughput of the chunked AES-256-GCM codec on one 60 s sample
 * (48 kHz mono float32, ~11.5 MB), written atomically with fsync and read back as a stream.
 */
const SECONDS = 60;
const RATE = 48_000;
const ROUNDS = 5;

function sample(): Buffer {
  const pcm = new Float32Array(SECONDS * RATE);
  for (let i = 0; i < pcm.length; i += 1) pcm[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / RATE) + 0.01 * (Math.random() - 0.5);
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const suite: BenchSuite = {
  name: 'storage',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-bench-storage-'));
    const db = new SqliteDatabase(':memory:');
    try {
      db.exec('CREATE TABLE data_keys (user_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL)');
      const key = new DataKeyStore(db, new MasterKey(randomBytes(32))).getOrCreate('u_bench');
      const data = sample();
      const file = join(dir, 'clip.enc');
      const identity = 'user/u_bench/sample/clip_bench';
      const megabytes = data.byteLength / 1e6;
      const encrypt: number[] = [];
      const decrypt: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        let start = performance.now();
        await writeEncryptedFile(file, key, identity, data);
        encrypt.push(megabytes / ((performance.now() - start) / 1000));
        start = performance.now();
        let bytes = 0;
        for await (const part of readEncryptedFile(file, key, identity)) bytes += part.byteLength;
        decrypt.push(megabytes / ((performance.now() - start) / 1000));
        if (bytes !== data.byteLength) throw new Error('decrypted length differs');
      }
      const figures: BenchFigure[] = [
        { metric: 'sample size (60 s, 48 kHz float32)', value: Number(megabytes.toFixed(2)), unit: 'MB' },
        { metric: 'encrypt + atomic write (fsync) throughput, median', value: Number(median(encrypt).toFixed(1)), unit: 'MB/s' },
        { metric: 'streamed read + decrypt throughput, median', value: Number(median(decrypt).toFixed(1)), unit: 'MB/s' },
        { metric: 'encrypt time for one 60 s sample, median', value: Number(((megabytes / median(encrypt)) * 1000).toFixed(1)), unit: 'ms' },
      ];
      return figures;
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
