// Mutation check for the promises the docs make (`npm run mutate [-- ids...]`).
//
// Each entry of test/mutations.json breaks one promise on purpose: an exact snippet of a
// source file and its replacement, and the test files that must go red. Every mutant is
// applied alone, in a temporary copy of the working tree (never in the checkout), and the
// named tests are run against it. "killed" means they failed, as they should; "survived"
// means the promise is not held by any test. A baseline run first checks that the named
// tests pass on the unmutated copy, so a kill is not just a broken test.
//
//   npm run mutate                       every entry
//   npm run mutate -- wal-checkpoint     only the entries with these ids
//   npm run mutate -- --no-baseline      skip the baseline runs
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Mutation {
  /** Short stable name, used to select entries on the command line. */
  readonly id: string;
  /** The promise this breaks, as the docs word it. */
  readonly promise: string;
  readonly file: string;
  /** Exact text that must occur once in `file`, and what it becomes... */
  readonly find?: string;
  readonly replace?: string;
  /** ...or several such edits of the same file, applied in order (to move a statement). */
  readonly edits?: ReadonlyArray<{ readonly find: string; readonly replace: string }>;
  /** Test files that must fail with the mutation in place. */
  readonly tests: readonly string[];
  readonly why: string;
  /** Per-run limit in seconds (default 300). */
  readonly timeoutS?: number;
}

type Outcome =
  | { readonly status: 'killed' | 'survived' | 'timeout'; readonly seconds: number; readonly tail: string }
  | { readonly status: 'stale'; readonly seconds: 0; readonly tail: string };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIST = join(ROOT, 'test', 'mutations.json');

function parseList(): Mutation[] {
  const parsed: unknown = JSON.parse(readFileSync(LIST, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${LIST} must hold an array`);
  return parsed.map((entry, index) => {
    const m = entry as Partial<Mutation>;
    for (const key of ['id', 'promise', 'file', 'why'] as const) {
      if (typeof m[key] !== 'string' || m[key] === '') throw new Error(`${LIST}[${index}]: "${key}" must be a non-empty string`);
    }
    const edits = editsOf(m);
    if (edits.length === 0 || edits.some((e) => typeof e.find !== 'string' || e.find === '' || typeof e.replace !== 'string')) {
      throw new Error(`${LIST}[${index}]: give "find" and "replace", or "edits": [{ find, replace }, ...]`);
    }
    if (!Array.isArray(m.tests) || m.tests.length === 0) throw new Error(`${LIST}[${index}]: "tests" must list at least one test file`);
    return m as Mutation;
  });
}

/**
 * Copies what git sees (tracked and untracked-but-not-ignored files) into <tmp>/main,
 * links node_modules and the tools, and links <tmp>/shared to the checkout's ../shared,
 * where the tests find the speech corpus.
 */
function editsOf(m: Partial<Mutation>): ReadonlyArray<{ readonly find: string; readonly replace: string }> {
  if (m.edits) return m.edits;
  return m.find === undefined || m.replace === undefined ? [] : [{ find: m.find, replace: m.replace }];
}

/** The mutated text, or why the list entry no longer fits the source (each snippet must occur exactly once). */
function applyEdits(source: string, m: Mutation): { text: string } | { stale: string } {
  let text = source;
  for (const { find, replace } of editsOf(m)) {
    const at = text.indexOf(find);
    if (at < 0) return { stale: `snippet not found: ${JSON.stringify(find.slice(0, 60))}` };
    if (text.indexOf(find, at + 1) >= 0) return { stale: `snippet occurs more than once: ${JSON.stringify(find.slice(0, 60))}` };
    text = text.slice(0, at) + replace + text.slice(at + find.length);
  }
  return { text };
}

function copyTree(): { dir: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'vocalis-mutate-'));
  const dir = join(base, 'main');
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const path of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, path);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(from, join(dir, path), { dereference: false, recursive: true });
  }
  for (const linked of ['node_modules', '.tools']) if (existsSync(join(ROOT, linked))) symlinkSync(join(ROOT, linked), join(dir, linked));
  const shared = resolve(ROOT, '..', 'shared');
  if (existsSync(shared)) symlinkSync(shared, join(base, 'shared'));
  return { dir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

function runTests(dir: string, tests: readonly string[], timeoutS: number): Promise<{ code: number | null; timedOut: boolean; seconds: number; tail: string }> {
  const started = performance.now();
  return new Promise((done) => {
    const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs');
    const limits = [`--testTimeout=${timeoutS * 1000}`, `--hookTimeout=${timeoutS * 1000}`];
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', vitest, 'run', '--maxWorkers=1', ...limits, ...tests], {
      cwd: dir,
      // Plain text: reasonOf reads the report.
      env: { ...process.env, VOCALIS_MUTATION: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-6000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    // The whole process group: tests start redis-server and CLI children.
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          /* already gone */
        }
      },
      (timeoutS + 30) * 1000,
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, timedOut, seconds: (performance.now() - started) / 1000, tail: output });
    });
  });
}

/** The failing assertions of a red run, briefly, so the report shows why it went red. */
function reasonOf(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim());
  const failed = lines.filter((l) => l.startsWith('FAIL ')).map((l) => l.replace(/^FAIL\s+/, '× '));
  const messages = lines.filter((l) => /^(AssertionError|\w*Error)( \[ERR_ASSERTION\])?:/.test(l)).slice(0, 2);
  return [...new Set([...failed.slice(0, 2), ...messages])].join(' | ').slice(0, 300);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const baseline = !args.includes('--no-baseline');
  const wanted = new Set(args.filter((a) => !a.startsWith('--')));
  const all = parseList();
  const unknown = [...wanted].filter((id) => !all.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`no mutation named ${unknown.join(', ')} in ${LIST}`);
  const chosen = wanted.size > 0 ? all.filter((m) => wanted.has(m.id)) : all;
  const { dir, cleanup } = copyTree();
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const results: Array<{ m: Mutation; outcome: Outcome }> = [];
  const started = performance.now();
  try {
    console.log(`mutation check: ${chosen.length} mutant(s) in a copy at ${dir}\n`);
    if (baseline) {
      const files = [...new Set(chosen.flatMap((m) => m.tests))];
      for (const file of files) {
        const limit = Math.max(...chosen.filter((m) => m.tests.includes(file)).map((m) => m.timeoutS ?? 300));
        const run = await runTests(dir, [file], limit);
        console.log(`baseline ${run.code === 0 ? 'green' : 'RED  '} ${run.seconds.toFixed(1).padStart(6)} s  ${file}`);
        if (run.code !== 0) {
          console.log(run.tail);
          throw new Error(`baseline: ${file} fails without any mutation; fix it before judging mutants`);
        }
      }
      console.log('');
    }
    for (const m of chosen) {
      const path = join(dir, m.file);
      const original = readFileSync(path, 'utf8');
      const mutated = applyEdits(original, m);
      if ('stale' in mutated) {
        results.push({ m, outcome: { status: 'stale', seconds: 0, tail: mutated.stale } });
      } else {
        writeFileSync(path, mutated.text);
        try {
          const run = await runTests(dir, m.tests, m.timeoutS ?? 300);
          const status = run.timedOut ? 'timeout' : run.code === 0 ? 'survived' : 'killed';
          results.push({ m, outcome: { status, seconds: run.seconds, tail: status === 'killed' ? reasonOf(run.tail) : run.tail.slice(-1500) } });
        } finally {
          writeFileSync(path, original);
        }
      }
      const { outcome } = results.at(-1)!;
      console.log(`${outcome.status.toUpperCase().padEnd(8)} ${outcome.seconds.toFixed(1).padStart(6)} s  ${m.id}  (${m.tests.join(', ')})`);
      if (outcome.status !== 'killed') console.log(outcome.tail);
      else if (outcome.tail) console.log(`         red because: ${outcome.tail}`);
    }
  } finally {
    cleanup();
  }
  const killed = results.filter((r) => r.outcome.status === 'killed').length;
  console.log(`\n| mutant | promise | file | status | time |\n|---|---|---|---|---|`);
  for (const { m, outcome } of results) console.log(`| ${m.id} | ${m.promise} | ${m.file} | ${outcome.status} | ${outcome.seconds.toFixed(1)} s |`);
  console.log(`\n${killed} of ${results.length} mutants killed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (killed !== results.length) process.exitCode = 1;
}

await main();
