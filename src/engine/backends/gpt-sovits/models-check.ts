/**
 * `vocalis models check`: validates a models directory against the manifest and names every
 * mismatch — missing or corrupt files, wrong checksums, and graph inputs/outputs whose name,
 * element type or rank differ from the upstream export. Dimension sizes are not compared (layer
 * count and width differ between checkpoints; the fixtures are deliberately small).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { Manifest, ManifestFile, TensorSpec } from './manifest.ts';

export { loadManifest } from './manifest.ts';
export type { Manifest } from './manifest.ts';

export interface ModelMismatch {
  readonly file: string;
  readonly problem: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A spec named `prefix{layer}` stands for one tensor per layer: prefix0, prefix1, … (at least one, no gaps). */
function expandLayers(spec: TensorSpec, actual: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] | null {
  const at = spec.name.indexOf('{layer}');
  if (at < 0) return null;
  const prefix = spec.name.slice(0, at);
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)$`);
  const found = actual
    .map((m) => pattern.exec(m.name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  const count = found.length === 0 ? 1 : Math.max(...found) + 1;
  return Array.from({ length: count }, (_, i) => ({ ...spec, name: `${prefix}${i}` }));
}

function compare(file: string, kind: 'input' | 'output', specs: readonly TensorSpec[], actual: readonly ort.InferenceSession.ValueMetadata[]): ModelMismatch[] {
  const expected = specs.flatMap((spec) => expandLayers(spec, actual) ?? [spec]);
  const problems: ModelMismatch[] = [];
  const byName = new Map(actual.map((m) => [m.name, m]));
  for (const spec of expected) {
    const meta = byName.get(spec.name);
    if (!meta) {
      if (spec.optional) continue;
      problems.push({
        file,
        problem: `missing ${kind} "${spec.name}" (${spec.type}, rank ${spec.rank}); graph has ${actual.map((m) => `"${m.name}"`).join(', ') || 'none'}`,
      });
      continue;
    }
    if (!meta.isTensor) {
      problems.push({ file, problem: `${kind} "${spec.name}" is not a tensor` });
      continue;
    }
    if (meta.type !== spec.type) problems.push({ file, problem: `${kind} "${spec.name}" has type ${meta.type}, expected ${spec.type}` });
    if (meta.shape.length !== spec.rank) problems.push({ file, problem: `${kind} "${spec.name}" has rank ${meta.shape.length}, expected ${spec.rank}` });
  }
  const known = new Set(expected.map((s) => s.name));
  for (const meta of actual) if (!known.has(meta.name)) problems.push({ file, problem: `unexpected ${kind} "${meta.name}"` });
  return problems;
}

async function checkFile(dir: string, spec: ManifestFile): Promise<ModelMismatch[]> {
  const path = join(dir, spec.name);
  try {
    await access(path);
  } catch {
    return spec.required ? [{ file: spec.name, problem: `missing from ${dir}; run \`vocalis models fetch\` or export it (docs/backends/gpt-sovits.md)` }] : [];
  }
  const problems: ModelMismatch[] = [];
  if (spec.sha256) {
    const actual = await sha256File(path);
    if (actual !== spec.sha256) problems.push({ file: spec.name, problem: `SHA-256 is ${actual}, manifest says ${spec.sha256}; fetch it again` });
  }
  if (!spec.inputs && !spec.outputs) return problems;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path);
  } catch (error) {
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return [...problems, { file: spec.name, problem: `not a loadable ONNX model (${detail}); fetch or export it again` }];
  }
  try {
    problems.push(...compare(spec.name, 'input', spec.inputs ?? [], session.inputMetadata));
    problems.push(...compare(spec.name, 'output', spec.outputs ?? [], session.outputMetadata));
  } finally {
    await session.release();
  }
  return problems;
}

/** Every mismatch between a models directory and the manifest; empty means the directory is good. */
export async function checkModels(dir: string, manifest: Manifest): Promise<ModelMismatch[]> {
  const results: ModelMismatch[] = [];
  // One file at a time: real graphs are large and loading them all at once would double memory.
  for (const spec of manifest.files) results.push(...(await checkFile(dir, spec)));
  return results;
}
