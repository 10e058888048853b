/**
 * `npm run verify:gpt-sovits -- --home DIR [--version v2|v2Pro|v2ProPlus|all] [--python P] …`:
 * runs scripts/gpt-sovits/verify_upstream.py with the GPT-SoVITS checkout's Python, passing it
 * this Node. Without a checkout (no --home, no GPT_SOVITS_HOME) it says in one line that it was
 * skipped and why, and exits 0: CI has no PyTorch and keeps the stand-in tests.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
function take(name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}
const home = take('--home') ?? process.env['GPT_SOVITS_HOME'];
const python = take('--python') ?? process.env['GPT_SOVITS_PYTHON'];
if (!home) {
  process.stdout.write('verify:gpt-sovits skipped: no GPT-SoVITS checkout given (pass --home DIR or set GPT_SOVITS_HOME)\n');
  process.exit(0);
}
const bundled = join(home, 'runtime', 'python');
const interpreter = python ?? (existsSync(bundled) ? bundled : 'python3');
const script = new URL('./verify_upstream.py', import.meta.url).pathname;
const child = spawn(interpreter, [script, '--home', home, '--node', process.execPath, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
