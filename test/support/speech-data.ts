import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared speech corpus beside the checkout (`../shared/data`). Missing files fail loudly. */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

export function sharedFile(relative: string): string {
  const path = `${SHARED_DATA}${relative}`;
  if (!existsSync(path)) throw new Error(`test data missing: ${path} (expected ../shared/data beside the checkout)`);
  return path;
}

export function readShared(relative: string): Buffer {
  return readFileSync(sharedFile(relative));
}

/** A LibriSpeech test-other speaker's utterance files, sorted. */
export function speakerFiles(speaker: string): string[] {
  const dir = sharedFile(`librispeech/test-other/${speaker}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.flac'))
    .sort()
    .map((f) => `${dir}/${f}`);
}
