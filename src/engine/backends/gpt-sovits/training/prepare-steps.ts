/**
 * Upstream's dataset formatting (WebUI tab 1A, "one-click triple"): 1-get-text.py (phonemes,
 * BERT for Chinese), 2-get-hubert-wav32k.py (SSL features, 32 kHz WAVs), for v2Pro/v2ProPlus
 * 2-get-sv.py (speaker embeddings, webui.py open1b), 3-get-semantic.py (semantic tokens), each
 * driven by environment variables, one part (i_part 0 of all_parts 1), then the WebUI's merge
 * of the per-part outputs. Upstream's scripts print a traceback per failed line and still exit
 * 0, so each step's output is counted; an empty one fails with the exception class seen.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import { EXP_NAME, isPro } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import type { ResolvedTrainingOptions } from './options.ts';
import { runProcess } from './process-runner.ts';
import type { FailureHint } from './process-runner.ts';

export type ChildEnv = Readonly<Record<string, string | undefined>>;

/** Runs one upstream script in the job's working directory; returns what its output hinted at. */
export async function runStep(o: ResolvedTrainingOptions, work: WorkLayout, script: string, env: ChildEnv, signal: AbortSignal): Promise<FailureHint | null> {
  let hint: FailureHint | null = null;
  const run = runProcess({
    command: o.python,
    args: [...o.pythonArgs, '-s', script],
    cwd: work.cwd,
    env,
    signal,
    killGraceMs: o.killGraceMs,
    onHint: (h) => (hint = h),
  });
  const outcome = await run.done;
  signal.throwIfAborted();
  if (outcome.kind === 'exited' && outcome.code !== 0) throw stepFailure(script, outcome.code, outcome.failure);
  return hint;
}

export function stepFailure(script: string, code: number, hint: { code: string; reason: string } | null): BackendError {
  const name = script.split(/[\\/]/).pop() ?? script;
  if (hint?.code === 'disk_full') return new BackendError('disk_full', `${name} ran out of disk space`);
  if (hint?.code === 'gpu_out_of_memory') return new BackendError('gpu_out_of_memory', `${name} ran out of GPU memory; lower the batch size`);
  return new BackendError('training_failed', `${name} exited with code ${code}${hint ? ` (${hint.reason})` : ''}`);
}

function emptyOutput(script: string, what: string, hint: FailureHint | null): BackendError {
  const name = script.split(/[\\/]/).pop() ?? script;
  if (hint?.code === 'disk_full') return new BackendError('disk_full', `${name} ran out of disk space`);
  return new BackendError('training_failed', `${name} produced no ${what}${hint ? ` (${hint.reason})` : ''}`);
}

async function mergeParts(dir: string, part: string, whole: string, header: string | null): Promise<number> {
  const text = await readFile(join(dir, part), 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  await writeFile(join(dir, whole), `${[...(header ? [header] : []), ...lines].join('\n')}\n`, { mode: 0o600 });
  await rm(join(dir, part), { force: true });
  return lines.length;
}

async function countFeatures(dir: string): Promise<number> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.pt')).length;
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
    // 1-get-text.py reads the model version from the environment (webui.py sets it globally).
    version: o.version,
  };
  onStep(0);
  let hint = await runStep(o, work, up.getText, { ...common, bert_pretrained_dir: up.bertDir }, signal);
  const texts = await mergeParts(work.optDir, '2-name2text-0.txt', '2-name2text.txt', null);
  if (texts === 0) throw emptyOutput(up.getText, 'phonemes', hint);
  onStep(1);
  hint = await runStep(o, work, up.getHubert, { ...common, cnhubert_base_dir: up.hubertDir }, signal);
  if ((await countFeatures(join(work.optDir, '4-cnhubert'))) === 0) throw emptyOutput(up.getHubert, 'SSL features', hint);
  if (isPro(o.version)) {
    hint = await runStep(o, work, up.getSv, { ...common, sv_path: up.svModel }, signal);
    if ((await countFeatures(join(work.optDir, '7-sv_cn'))) === 0) throw emptyOutput(up.getSv, 'speaker embeddings', hint);
  }
  onStep(2);
  hint = await runStep(o, work, up.getSemantic, { ...common, pretrained_s2G: up.pretrainedS2G, s2config_path: up.s2Config }, signal);
  const tokens = await mergeParts(work.optDir, '6-name2semantic-0.tsv', '6-name2semantic.tsv', 'item_name\tsemantic_audio');
  if (tokens === 0) throw emptyOutput(up.getSemantic, 'semantic tokens', hint);
}
