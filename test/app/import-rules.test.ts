// The rules between parts that docs/ARCHITECTURE.md states ("Rules between parts"), read
// from the imports themselves, so a drift fails here instead of in a review.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

interface Import {
  readonly file: string;
  /** A path relative to the repository root for relative imports, else the package name. */
  readonly target: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    const spec = m[2]!;
    const target = spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : spec;
    return { file, target, typeOnly: m[1] !== undefined };
  });
}

const ALL = sourceFiles('src').flatMap(importsOf);

function violations(from: string, rule: (i: Import) => boolean): string[] {
  return ALL.filter((i) => i.file.startsWith(from) && rule(i)).map((i) => `${i.file} → ${i.target}`);
}

test('the scan sees the imports (a broken pattern would pass every rule)', () => {
  assert.ok(ALL.length > 500, `only ${ALL.length} imports found`);
  assert.ok(ALL.some((i) => i.file === 'src/core/vocalis.ts' && i.target === 'src/consent/consent-errors.ts'));
  assert.ok(ALL.some((i) => i.typeOnly && i.target === 'src/consent/reading-script.ts'));
});

test('neither backend imports the other; what both use lives in src/engine/features and src/engine/dsp', () => {
  assert.deepEqual(
    violations('src/engine/backends/classic/', (i) => i.target.startsWith('src/engine/backends/gpt-sovits/')),
    [],
  );
  assert.deepEqual(
    violations('src/engine/backends/gpt-sovits/', (i) => i.target.startsWith('src/engine/backends/classic/')),
    [],
  );
  assert.deepEqual(
    violations('src/engine/', (i) => !i.file.startsWith('src/engine/backends/') && i.target.startsWith('src/engine/backends/')),
    [],
  );
});

test('consent imports nothing from the engine', () => {
  assert.deepEqual(
    violations('src/consent/', (i) => i.target.startsWith('src/engine/')),
    [],
  );
});

test('core, consent, engine and storage know no platform', () => {
  const platform = (i: Import) =>
    i.target.startsWith('src/bots/') ||
    i.target.startsWith('src/cli/') ||
    i.target === 'discord.js' ||
    i.target.startsWith('@discordjs/') ||
    i.target.startsWith('telegraf');
  for (const part of ['src/core/', 'src/consent/', 'src/engine/', 'src/storage/']) assert.deepEqual(violations(part, platform), [], part);
});

test("adapters change state only through the core: besides it they import types, consent's errors and the audio codecs", () => {
  const allowed = (i: Import): boolean => {
    if (!i.target.startsWith('src/')) return true; // platform libraries
    if (
      i.target.startsWith('src/bots/') ||
      i.target.startsWith('src/core/') ||
      i.target.startsWith('src/i18n/') ||
      i.target.startsWith('src/observability/') ||
      i.target.startsWith('src/config/')
    )
      return true;
    if (i.typeOnly) return i.target.startsWith('src/consent/') || i.target.startsWith('src/storage/') || i.target.startsWith('src/engine/');
    return i.target === 'src/consent/consent-errors.ts' || i.target.startsWith('src/engine/audio/') || i.target === 'src/engine/pcm.ts';
  };
  assert.deepEqual(
    violations('src/bots/', (i) => !allowed(i)),
    [],
  );
});
