/**
 * Export: the project's script (scripts/gpt-sovits/export_onnx.py), run with the operator's
 * GPT-SoVITS Python, turns one (GPT .ckpt, SoVITS .pth) pair into the four graphs the inference
 * backend loads; then `models check` compares them with the manifest's signatures. Nothing is
 * returned unless all four graphs pass.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import { checkModels, loadManifest } from '../models-check.ts';
import { VOICE_GRAPH_FILES } from '../voice-files.ts';
import type { ResolvedTrainingOptions } from './options.ts';
import { runProcess } from './process-runner.ts';

/** Exported file name (as in the models directory) → the voice's file name. */
export const EXPORTED_GRAPHS = {
  't2s_encoder.onnx': VOICE_GRAPH_FILES.encoder,
  't2s_fsdec.onnx': VOICE_GRAPH_FILES.fsdec,
  't2s_sdec.onnx': VOICE_GRAPH_FILES.sdec,
  'vits.onnx': VOICE_GRAPH_FILES.vits,
} as const;

/** The four graphs keyed by the voice's file names. */
export type VoiceGraphBytes = Readonly<Record<string, Uint8Array>>;

export interface ExportRequest {
  readonly gptCheckpoint: string;
  readonly sovitsCheckpoint: string;
  readonly outDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
}

export async function exportAndCheck(o: ResolvedTrainingOptions, r: ExportRequest): Promise<VoiceGraphBytes> {
  const run = runProcess({
    command: o.python,
    args: [...o.pythonArgs, '-s', o.exportScript, '--gpt', r.gptCheckpoint, '--sovits', r.sovitsCheckpoint, '--out', r.outDir, '--version', o.version],
    cwd: o.home,
    env: r.env,
    signal: r.signal,
    killGraceMs: o.killGraceMs,
  });
  const outcome = await run.done;
  r.signal.throwIfAborted();
  if (outcome.kind === 'stopped') throw new BackendError('export_failed', 'the ONNX export was stopped');
  if (outcome.code !== 0) {
    const hint = outcome.failure;
    if (hint?.code === 'disk_full') throw new BackendError('disk_full', 'the ONNX export ran out of disk space');
    throw new BackendError('export_failed', `the ONNX export exited with code ${outcome.code}${hint ? ` (${hint.reason})` : ''}`);
  }
  const manifest = await loadManifest(o.manifestPath);
  const wanted = new Set(Object.keys(EXPORTED_GRAPHS));
  const problems = await checkModels(r.outDir, { ...manifest, files: manifest.files.filter((f) => wanted.has(f.name)).map((f) => ({ ...f, required: true, sha256: null })) });
  if (problems.length > 0) {
    throw new BackendError('export_failed', `the exported graphs do not match the inference backend: ${problems.map((p) => `${p.file}: ${p.problem}`).join('; ')}`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [exported, voiceName] of Object.entries(EXPORTED_GRAPHS)) out[voiceName] = await readFile(join(r.outDir, exported));
  return out;
}
