/** The models manifest: which files a models directory holds, their checksums and graph signatures. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const tensorSpec = z.object({
  name: z.string().min(1),
  type: z.enum(['float32', 'float16', 'int32', 'int64', 'bool']),
  rank: z.number().int().min(0),
});

const fileSpec = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'plain file name'),
  required: z.boolean(),
  /** Hex SHA-256, or null where the file is operator-made and cannot be known in advance. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
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
