#!/usr/bin/env node
// Bootstrap for `npm start`, `npm test`, `npm run worker|engine|bench|vocalis`.
// Dependency-free on purpose: it must run on any Node >= 20 before anything is installed.
// It makes sure of Node 24, the system packages and the npm dependencies, then runs the task
// with Node 24, forwarding signals so Ctrl-C stops the service (and its Redis child) cleanly,
// and stopping the task when its own parent (npm) goes away.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync, realpathSync, mkdirSync } from 'node:fs';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const NODE_MAJOR = 24;
const TOOLS_NODE = join(ROOT, '.tools', 'node');
/** Binaries the service calls as child processes, and the Debian packages that carry them. */
const SYSTEM_PACKAGES = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'ffmpeg', pkg: 'ffmpeg' },
  { bin: 'ffprobe', pkg: 'ffmpeg' },
  { bin: 'flite', pkg: 'flite' },
  { bin: 'espeak-ng', pkg: 'espeak-ng' },
  // The audio mark's tests and bench: the phone path (band-pass, reverb, 8 kHz µ-law).
  { bin: 'sox', pkg: 'sox' },
  // Consent verification and the classic backend's transcription of free speech: CMU Sphinx and its US English model (a data package, found by a file).
  { bin: 'pocketsphinx_continuous', pkg: 'pocketsphinx' },
  { file: '/usr/share/pocketsphinx/model/en-us/en-us/mdef', pkg: 'pocketsphinx-en-us' },
  // The tests' PostgreSQL server (test/support/postgres-server.ts): Debian keeps it off PATH, under its major version.
  { found: postgresInstalled, pkg: 'postgresql' },
  // The multi-host tests' network namespaces, veth pairs and bridge (test/support/netns.ts).
  { bin: 'ip', pkg: 'iproute2' },
];
const NODE_FLAGS = ['--disable-warning=ExperimentalWarning'];
/** How often the bootstrap checks that the process that started it (npm) is still there. */
const PARENT_CHECK_MS = 250;

const TASKS = {
  start: () => [[...NODE_FLAGS, 'src/main.ts']],
  worker: () => [[...NODE_FLAGS, 'src/worker-main.ts']],
  // An engine node: synthesis for bots on other hosts (docs/deployment/engine-nodes.md).
  engine: () => [[...NODE_FLAGS, 'src/engine-main.ts']],
  vocalis: (args) => [[...NODE_FLAGS, 'src/cli/main.ts', ...args]],
  bench: (args) => [[...NODE_FLAGS, 'bench/run.ts', ...args]],
  // The upstream GPT-SoVITS integration check (needs a checkout and its Python; skips without).
  'verify-gpt-sovits': (args) => [[...NODE_FLAGS, 'scripts/gpt-sovits/verify_upstream_entry.ts', ...args]],
  // Breaks each documented promise in a temp copy and checks its tests go red (test/mutations.json).
  mutate: (args) => [[...NODE_FLAGS, 'scripts/mutate.ts', ...args]],
  // Static checks first (the type check, then format/lint checks the project defines): a failure
  // there fails the test command like a failing test does. Then Vitest (vitest.config.ts), the
  // arguments passed through: `npm test -- -t name`, `-- test/core`, `-- --coverage`, `-- --watch`.
  test: (args) => [
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    ...STATIC_CHECK_SCRIPTS.filter(definedScript).map((name) => ({ npm: ['run', '--silent', name] })),
    [...NODE_FLAGS, join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), args.includes('--watch') || args.includes('-w') ? 'watch' : 'run', ...args],
  ],
};
/** npm scripts run, when defined, between the type check and the tests. */
const STATIC_CHECK_SCRIPTS = ['format:check', 'lint'];

function definedScript(name) {
  return Boolean(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts?.[name]);
}

function log(message) {
  process.stderr.write(`[bootstrap] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`\n[bootstrap] ${message}\n\n`);
  process.exit(1);
}

function commandExists(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...options });
  if (result.error) fail(`could not run ${cmd}: ${result.error.message}`);
  return result.status ?? 1;
}

/** Returns the path of a Node >= 24 binary, installing the registry package `node@24` if needed. */
function ensureNode() {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return process.execPath;
  const bin = join(TOOLS_NODE, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bin)) {
    log(`Node ${process.versions.node} is older than ${NODE_MAJOR}; installing node@${NODE_MAJOR} from the npm registry into .tools/node`);
    mkdirSync(TOOLS_NODE, { recursive: true });
    const status = run('npm', ['install', '--prefix', TOOLS_NODE, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node@${NODE_MAJOR}`]);
    if (status !== 0 || !existsSync(bin)) fail(`installing node@${NODE_MAJOR} failed; install Node ${NODE_MAJOR} yourself and run again`);
  }
  return bin;
}

/** /usr/lib/postgresql/<version>/bin/postgres, whichever version the distribution ships. */
function postgresInstalled() {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((version) => existsSync(join(root, version, 'bin', 'postgres')));
}

function ensureSystemPackages() {
  const missing = [...new Set(SYSTEM_PACKAGES.filter((p) => !(p.found ? p.found() : p.file ? existsSync(p.file) : commandExists(p.bin))).map((p) => p.pkg))];
  if (missing.length === 0) return;
  const install = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !commandExists('apt-get')) {
    fail(`missing system packages: ${missing.join(', ')}.\nInstall them, then run again:\n\n    sudo apt-get update && sudo ${install}`);
  }
  log(`installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update'], { env }) !== 0 || run('sh', ['-c', install], { env }) !== 0) {
    fail(`apt-get could not install ${missing.join(' ')}; run: apt-get update && ${install}`);
  }
}

/** Where node-gyp finds headers for the Node we run on (no header download is possible here). */
function nodeHeadersDir(nodeBin) {
  const prefix = dirname(dirname(realpathSync(nodeBin)));
  return existsSync(join(prefix, 'include', 'node', 'node_version.h')) ? prefix : undefined;
}

/**
 * `npm ci` installs exactly what package-lock.json records and never rewrites it, so a
 * fresh clone stays unchanged; `npm install` only where there is no lock file yet.
 */
function installCommand() {
  return existsSync(join(ROOT, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
}

function ensureDependencies(nodeBin, env) {
  const lockFile = join(ROOT, 'package-lock.json');
  const lock = existsSync(lockFile) ? readFileSync(lockFile) : readFileSync(join(ROOT, 'package.json'));
  const stamp = createHash('sha256')
    .update(lock)
    .update(process.platform + nodeBin)
    .digest('hex');
  const stampFile = join(ROOT, 'node_modules', '.vocalis-install-stamp');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  log('installing npm dependencies');
  const headers = nodeHeadersDir(nodeBin);
  const installEnv = {
    ...env,
    // CPU-only onnxruntime; `cuda12` opts into CUDA on GPU hosts (REFERENCE §1).
    ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip',
    ...(headers ? { npm_config_nodedir: headers } : {}),
  };
  const install = installCommand();
  if (run('npm', install, { env: installEnv }) !== 0) {
    fail(
      install[0] === 'ci'
        ? 'npm ci failed; see the output above (if package.json changed, update the lock file with npm install and commit it)'
        : 'npm install failed; see the output above',
    );
  }
  writeFileSync(stampFile, stamp);
}

function runTask(nodeBin, steps, env) {
  let child;
  let stopping = false;
  const forward = (signal) => {
    stopping = true;
    child?.kill(signal);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  // `npm start` runs us through `sh -c`; a SIGTERM to npm kills that shell without passing
  // the signal on, and we are re-parented. Treat the parent's disappearance as SIGTERM.
  const parent = process.ppid;
  const watchParent = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watchParent);
    log(`the process that started this task (pid ${parent}) is gone: stopping the task`);
    forward('SIGTERM');
  }, PARENT_CHECK_MS);
  watchParent.unref();
  const next = (index) => {
    if (index >= steps.length) process.exit(0);
    // Stopped between steps (after the type check): do not start the next one.
    if (stopping) process.exit(1);
    // A step is Node arguments, or `{ npm: [...] }` for an npm script.
    const [cmd, args] = Array.isArray(steps[index]) ? [nodeBin, steps[index]] : ['npm', steps[index].npm];
    child = spawn(cmd, args, { stdio: 'inherit', cwd: ROOT, env });
    child.on('exit', (code, signal) => {
      if (code === 0) next(index + 1);
      else process.exit(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  };
  next(0);
}

function main() {
  const [task, ...args] = process.argv.slice(2);
  const makeSteps = TASKS[task];
  if (!makeSteps) fail(`unknown task "${task}"; one of: ${Object.keys(TASKS).join(', ')}`);
  const nodeBin = ensureNode();
  // Children (npm, node-gyp, tests spawning `node`) must find Node 24 first.
  const env = { ...process.env, PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH ?? ''}` };
  ensureSystemPackages();
  ensureDependencies(nodeBin, env);
  runTask(nodeBin, makeSteps(args), env);
}

main();
