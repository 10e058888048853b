import { z } from 'zod';
import { BackendError } from '../../backend.ts';

/**
 * The per-voice model file: a few tens of kilobytes of JSON in the voice's
 * folder (encrypted at rest by the engine). `statistics` models come from
 * prepareSample or from a fine-tune whose sample did not follow the script;
 * `gmm` models carry the joint-density GMM trained on parallel frames.
 */
export const MODEL_FILE = 'classic-model.json';

const statsSchema = z.object({
  mcepMean: z.array(z.number()),
  mcepStd: z.array(z.number()),
  lf0Mean: z.number(),
  lf0Std: z.number(),
  syllableRate: z.number(),
  speechSeconds: z.number(),
});

const componentSchema = z.object({
  weight: z.number(),
  mx: z.array(z.number()),
  my: z.array(z.number()),
  sxx: z.array(z.number()),
  sxy: z.array(z.number()),
  syy: z.array(z.number()),
});

const modelSchema = z.object({
  format: z.literal('vocalis-classic'),
  version: z.literal(1),
  kind: z.enum(['statistics', 'gmm']),
  /** Where the GMM's parallel frames came from: the reading script, or the recogniser's transcript of free speech. */
  parallel: z.enum(['script', 'transcript']).optional(),
  language: z.enum(['en', 'zh']),
  baseVoice: z.string(),
  /** Duration multiplier for the base voice so it speaks at the user's rate. */
  stretch: z.number(),
  /** Statistics of the base voice the mapping starts from. */
  source: statsSchema,
  /** The user's own statistics. */
  target: statsSchema,
  gmm: z.object({ components: z.array(componentSchema) }).optional(),
  /** Frame-level log-F0 GMM (pitch.ts), present only when it beat mean/variance on held-out frames. */
  pitch: z.object({ components: z.array(componentSchema) }).optional(),
});

export type ClassicModel = z.infer<typeof modelSchema>;

export function encodeModel(model: ClassicModel): Uint8Array {
  // Seven significant digits keep the file small without audible loss.
  const json = JSON.stringify(model, (_key, value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? Number(value.toPrecision(7)) : value));
  return new TextEncoder().encode(json);
}

export function decodeModel(bytes: Uint8Array): ClassicModel {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new BackendError('model_corrupt', `${MODEL_FILE} is not valid JSON`);
  }
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) throw new BackendError('model_corrupt', `${MODEL_FILE} does not match the classic model format`);
  return parsed.data;
}
