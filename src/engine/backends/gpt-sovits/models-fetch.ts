/**
 * `vocalis models fetch`: downloads the manifest's files into a models directory. Each file is
 * streamed to a temporary name beside its target, its SHA-256 checked when the manifest knows
 * it, and only then renamed into place, so a directory never holds a half-written model.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Manifest } from './manifest.ts';
import { sha256File } from './models-check.ts';

export interface FetchOptions {
  /** Base URL for files whose manifest entry has no URL of its own (name is appended). */
  readonly baseUrl?: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly signal?: AbortSignal;
  /** Also fetch optional files (BERT). */
  readonly includeOptional?: boolean;
}

export interface FetchReport {
  readonly downloaded: string[];
  /** Already present with the right checksum. */
  readonly unchanged: string[];
  /** Files with no URL anywhere: the operator must export them (see the docs). */
  readonly noSource: string[];
}

export class ModelFetchError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ModelFetchError';
    this.file = file;
  }
}

function sourceUrl(name: string, url: string | null, baseUrl: string | undefined): string | null {
  if (url) return url;
  if (!baseUrl) return null;
  return new URL(name, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}

export async function fetchModels(manifest: Manifest, dir: string, options: FetchOptions = {}): Promise<FetchReport> {
  const doFetch = options.fetch ?? globalThis.fetch;
  await mkdir(dir, { recursive: true });
  const report: FetchReport = { downloaded: [], unchanged: [], noSource: [] };
  for (const file of manifest.files) {
    if (!file.required && !options.includeOptional) continue;
    const target = join(dir, file.name);
    if (file.sha256) {
      const existing = await sha256File(target).catch(() => null);
      if (existing === file.sha256) {
        report.unchanged.push(file.name);
        continue;
      }
    }
    const url = sourceUrl(file.name, file.url, options.baseUrl);
    if (!url) {
      report.noSource.push(file.name);
      continue;
    }
    const response = await doFetch(url, { signal: options.signal ?? null });
    if (!response.ok || !response.body) throw new ModelFetchError(file.name, `download failed: HTTP ${response.status} from ${url}`);
    const partial = join(dir, `.${file.name}.${randomBytes(6).toString('hex')}.partial`);
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), hasher, createWriteStream(partial));
      const digest = hash.digest('hex');
      if (file.sha256 && digest !== file.sha256) {
        throw new ModelFetchError(file.name, `checksum mismatch: got SHA-256 ${digest}, manifest says ${file.sha256}; the file was not installed`);
      }
      await rename(partial, target);
      report.downloaded.push(file.name);
    } finally {
      await rm(partial, { force: true });
    }
  }
  return report;
}
