import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * `npm run bench [-- SUITE ...] [--models DIR]`: runs every `bench/*.bench.ts` (or the
 * named ones) one after another and prints their figures. Benchmarks report; they never
 * fail on a number.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const wanted = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1]?.startsWith('--') ?? false));
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const selected = wanted.length ? files.filter((f) => wanted.includes(f.replace('.bench.ts', ''))) : files;
if (selected.length === 0) {
  process.stderr.write(`no benchmark matches ${wanted.join(', ')}; available: ${files.map((f) => f.replace('.bench.ts', '')).join(', ')}\n`);
  process.exit(2);
}

let failed = false;
for (const file of selected) {
  const suite = ((await import(new URL(file, import.meta.url).href)) as { default: BenchSuite }).default;
  process.stdout.write(`\n## ${suite.name}\n`);
  const started = performance.now();
  try {
    const figures = await suite.run({ args });
    print(figures);
    process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    failed = true;
    process.stdout.write(`could not run: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
process.exitCode = failed ? 1 : 0;

function print(figures: readonly BenchFigure[]): void {
  const width = Math.max(...figures.map((f) => f.metric.length), 10);
  for (const f of figures) {
    const value = Math.abs(f.value) >= 100 ? f.value.toFixed(0) : f.value.toPrecision(3);
    process.stdout.write(`  ${f.metric.padEnd(width)}  ${value.padStart(10)} ${f.unit.padEnd(10)}${f.target ? `  target ${f.target}` : ''}\n`);
  }
}
