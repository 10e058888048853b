/**
 * Export: the project's script (scripts/gpt-sovits/export_onnx.py), run with the operator's
 * GPT-SoVITS Python, turns one (GPT .ckpt, SoVITS .pth) pair of the configured version into the
 * three graphs a fine-tuned voice carries (encoder, one-graph KV decoder, vits — with `sv_emb`
 * for v2Pro/v2ProPlus); then `models check` compares them with the version's manifest. Nothing
 * is returned unless every graph passes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import { checkModels, loadManifest } from '../models-check.ts';
import { VOICE_DECODER_FILE, VOICE_GRAPH_FILES } from '../voice-files.ts';
import type { ResolvedTrainingOptions } from './options.ts';
import { runProcess } from './process-runner.ts';

/** Exported file name (as in the models directory) → the voice's file name. */
export const EXPORTED_GRAPHS = {
  't2s_encoder.onnx': VOICE_GRAPH_FILES.encoder,
  't2s_decoder.onnx': VOICE_DECODER_FILE,
  'vits.onnx': VOICE_GRAPH_FILES.vits,
} as const;

/** The exported graphs keyed by the voice's file names. */
export type VoiceGraphBytes = Readonly<Record<string, Uint8Array>>;

export interface ExportRequest {
  readonly gptCheckpoint: string;
  readonly sovitsCheckpoint: string;
  readonly outDir: string;
  /** The job's working directory (upstream code writes temporary files into it). */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
}

export async function exportAndCheck(o: ResolvedTrainingOptions, r: ExportRequest): Promise<VoiceGraphBytes> {
  const run = runProcess({
    command: o.python,
    args: [
      ...o.pythonArgs,
      '-s',
      o.exportScript,
      '--home',
      o.home,
      '--pretrained',
      o.pretrainedDir,
      '--version',
      o.version,
      '--gpt',
      r.gptCheckpoint,
      '--sovits',
      r.sovitsCheckpoint,
      '--out',
      r.outDir,
    ],
    cwd: r.cwd,
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
  const problems = await checkModels(r.outDir, {
    ...manifest,
    files: manifest.files.filter((f) => wanted.has(f.name)).map((f) => ({ ...f, required: true, sha256: null })),
  });
  if (problems.length > 0) {
    throw new BackendError(
      'export_failed',
      `the exported graphs do not match the inference backend: ${problems.map((p) => `${p.file}: ${p.problem}`).join('; ')}`,
    );
  }
  const out: Record<string, Uint8Array> = {};
  for (const [exported, voiceName] of Object.entries(EXPORTED_GRAPHS)) out[voiceName] = await readFile(join(r.outDir, exported));
  return out;
}
