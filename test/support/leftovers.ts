import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RedisEntry } from './redis-dump.ts';

/** Every file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Which of `needles` (text) occur in which of `files`, read byte by byte. */
export async function fileMentions(files: readonly string[], needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    const bytes = await readFile(file);
    for (const needle of needles) if (bytes.includes(Buffer.from(needle))) found.push(`${needle} in ${file}`);
  }
  return found;
}

/** Which of `needles` occur in a Redis key's name or anything it holds. */
export function redisMentions(entries: readonly RedisEntry[], needles: readonly string[]): string[] {
  return entries.flatMap((e) => needles.filter((n) => e.key.includes(n) || e.dump.includes(n)).map((n) => `${n} in ${e.type} ${e.key}`));
}
