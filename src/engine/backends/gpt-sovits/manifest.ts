/** The models manifest: which files a models directory holds, their checksums and graph signatures. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const tensorSpec = z.object({
  name: z.string().min(1),
  type: z.enum(['float32', 'float16', 'int32', 'int64', 'bool']),
  rank: z.number().int().min(0),
  /** An input newer exports have and older ones lack (e.g. vits's `speed`): checked only when present. */
  optional: z.boolean().optional(),
});

const fileSpec = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'plain file name'),
  required: z.boolean(),
  /** Hex SHA-256, or null where the file is operator-made and cannot be known in advance. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  /** Absolute URL, or null to use the configured base URL + name. */
  url: z.string().url().nullable(),
  description: z.string(),
  inputs: z.array(tensorSpec).optional(),
  outputs: z.array(tensorSpec).optional(),
});

export const manifestSchema = z.object({
  name: z.string(),
  version: z.string(),
  files: z.array(fileSpec).min(1),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileSpec>;
export type TensorSpec = z.infer<typeof tensorSpec>;

export async function loadManifest(path: string): Promise<Manifest> {
  const parsed = manifestSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new Error(`manifest ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

const SHIPPED = (name: string): string => fileURLToPath(new URL(`../../../../models/${name}.manifest.json`, import.meta.url));

/**
 * The manifest a models directory is checked against: the one its export wrote
 * (`DIR/manifest.json`, with the version and SHA-256s), else the shipped one for the graphs it
 * has — Vocalis's one-graph decoder (v2, or v2Pro/v2ProPlus when sv.onnx is there) or
 * upstream-style fsdec/sdec (v2).
 */
export function manifestPathFor(dir: string): string {
  if (existsSync(join(dir, 'manifest.json'))) return join(dir, 'manifest.json');
  if (existsSync(join(dir, 't2s_decoder.onnx'))) return SHIPPED(existsSync(join(dir, 'sv.onnx')) ? 'gpt-sovits-v2pro-kv' : 'gpt-sovits-v2-kv');
  return SHIPPED('gpt-sovits-v2');
}
