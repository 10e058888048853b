/**
 * Upstream's dataset formatting (WebUI tab 1A, "one-click triple"): 1-get-text.py (phonemes,
 * BERT for Chinese), 2-get-hubert-wav32k.py (SSL features, 32 kHz WAVs), 3-get-semantic.py
 * (semantic tokens), each driven by environment variables, one part (i_part 0 of all_parts 1),
 * then the WebUI's merge of the per-part outputs.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import { EXP_NAME } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import type { ResolvedTrainingOptions } from './options.ts';
import { runProcess } from './process-runner.ts';

export type ChildEnv = Readonly<Record<string, string | undefined>>;

export async function runStep(
  o: ResolvedTrainingOptions,
  script: string,
  args: readonly string[],
  env: ChildEnv,
  signal: AbortSignal,
  onLine?: (line: string) => void,
): Promise<void> {
  const run = runProcess({ command: o.python, args: [...o.pythonArgs, '-s', script, ...args], cwd: o.home, env, signal, killGraceMs: o.killGraceMs, ...(onLine ? { onLine } : {}) });
  const outcome = await run.done;
  signal.throwIfAborted();
  if (outcome.kind === 'exited' && outcome.code !== 0) throw stepFailure(script, outcome.code, outcome.failure);
}

export function stepFailure(script: string, code: number, hint: { code: string; reason: string } | null): BackendError {
  const name = script.split(/[\\/]/).pop() ?? script;
  if (hint?.code === 'disk_full') return new BackendError('disk_full', `${name} ran out of disk space`);
  if (hint?.code === 'gpu_out_of_memory') return new BackendError('gpu_out_of_memory', `${name} ran out of GPU memory; lower the batch size`);
  return new BackendError('training_failed', `${name} exited with code ${code}${hint ? ` (${hint.reason})` : ''}`);
}

async function mergeParts(dir: string, part: string, whole: string, header: string | null): Promise<number> {
  const text = await readFile(join(dir, part), 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  await writeFile(join(dir, whole), [...(header ? [header] : []), ...lines].join('\n') + '\n', { mode: 0o600 });
  await rm(join(dir, part), { force: true });
  return lines.length;
}

export async function prepareFeatures(
  o: ResolvedTrainingOptions,
  up: UpstreamPaths,
  work: WorkLayout,
  baseEnv: ChildEnv,
  signal: AbortSignal,
  onStep: (index: number) => void,
): Promise<void> {
  const common = {
    ...baseEnv,
    inp_text: work.listFile,
    inp_wav_dir: work.wavDir,
    exp_name: EXP_NAME,
    opt_dir: work.optDir,
    i_part: '0',
    all_parts: '1',
    _CUDA_VISIBLE_DEVICES: o.device,
    is_half: o.half ? 'True' : 'False',
  };
  onStep(0);
  await runStep(o, up.getText, [], { ...common, bert_pretrained_dir: up.bertDir }, signal);
  const texts = await mergeParts(work.optDir, '2-name2text-0.txt', '2-name2text.txt', null);
  if (texts === 0) throw new BackendError('training_failed', '1-get-text.py produced no phonemes');
  onStep(1);
  await runStep(o, up.getHubert, [], { ...common, cnhubert_base_dir: up.hubertDir }, signal);
  const features = (await readdir(join(work.optDir, '4-cnhubert')).catch(() => [])).filter((f) => f.endsWith('.pt'));
  if (features.length === 0) throw new BackendError('training_failed', '2-get-hubert-wav32k.py produced no SSL features');
  onStep(2);
  await runStep(o, up.getSemantic, [], { ...common, pretrained_s2G: up.pretrainedS2G, s2config_path: up.s2Config }, signal);
  const tokens = await mergeParts(work.optDir, '6-name2semantic-0.tsv', '6-name2semantic.tsv', 'item_name\tsemantic_audio');
  if (tokens === 0) throw new BackendError('training_failed', '3-get-semantic.py produced no semantic tokens');
}
