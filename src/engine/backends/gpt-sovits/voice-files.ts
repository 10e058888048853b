/**
 * What a GPT-SoVITS voice keeps in its (encrypted) VoiceFiles: the reference clip at 32 kHz, its
 * SSL features (the cached prompt features), the prompt phones, its speaker embedding for
 * v2Pro/v2ProPlus graphs, and — once fine-tuned — its own graphs, which replace the shared base
 * graphs: t2s_encoder + t2s_decoder + vits (Vocalis's export), or t2s_encoder + t2s_fsdec +
 * t2s_sdec + vits (upstream-style export, voices fine-tuned before).
 */
import { z } from 'zod';
import { BackendError } from '../../backend.ts';
import type { VoiceFiles } from '../../backend.ts';

export const CONDITIONING_FILE = 'gpt-sovits-voice.json';
export const REF_AUDIO_FILE = 'gpt-sovits-ref-32k.f32';
export const SSL_FILE = 'gpt-sovits-ssl.f32';
/** The speaker-verification embedding (20480 floats) of the reference, for v2Pro/v2ProPlus vits. */
export const SV_FILE = 'gpt-sovits-sv.f32';
/** Upstream-style set (voices fine-tuned before the one-graph decoder). */
export const VOICE_GRAPH_FILES = {
  encoder: 'gpt-sovits-t2s_encoder.onnx',
  fsdec: 'gpt-sovits-t2s_fsdec.onnx',
  sdec: 'gpt-sovits-t2s_sdec.onnx',
  vits: 'gpt-sovits-vits.onnx',
} as const;
/** Vocalis's one-graph decoder; with it the set is encoder + decoder + vits. */
export const VOICE_DECODER_FILE = 'gpt-sovits-t2s_decoder.onnx';

export type VoiceGraphBytes =
  | { readonly kind: 'kv'; readonly encoder: Uint8Array; readonly decoder: Uint8Array; readonly vits: Uint8Array }
  | { readonly kind: 'legacy'; readonly encoder: Uint8Array; readonly fsdec: Uint8Array; readonly sdec: Uint8Array; readonly vits: Uint8Array };

export const conditioningSchema = z.object({
  format: z.literal(1),
  promptText: z.string().nullable(),
  promptLanguage: z.enum(['zh', 'en']),
  promptPhones: z.array(z.string()).min(1),
  promptIds: z.array(z.number().int().min(0)).min(1),
  refSeconds: z.object({ start: z.number(), end: z.number() }),
  sslFrames: z.number().int().positive(),
});
export type Conditioning = z.infer<typeof conditioningSchema>;

export function floatsToBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

export function bytesToFloats(bytes: Uint8Array): Float32Array {
  // Copy: the bytes may not be 4-byte aligned.
  return new Float32Array(bytes.slice().buffer);
}

export async function readConditioning(files: VoiceFiles): Promise<Conditioning> {
  if (!(await files.has(CONDITIONING_FILE))) {
    throw new BackendError('voice_not_prepared', 'this voice has no GPT-SoVITS reference yet; its sample must be accepted (prepareSample) first');
  }
  const parsed = conditioningSchema.safeParse(JSON.parse(new TextDecoder().decode(await files.read(CONDITIONING_FILE))));
  if (!parsed.success) throw new BackendError('voice_corrupt', `${CONDITIONING_FILE} of this voice is invalid; prepare the sample again`);
  return parsed.data;
}

/** The voice's own graphs when it has a complete set (fine-tuned); null for a zero-shot voice. */
export async function readVoiceGraphs(files: VoiceFiles): Promise<VoiceGraphBytes | null> {
  const names = { ...VOICE_GRAPH_FILES, decoder: VOICE_DECODER_FILE };
  const has = Object.fromEntries(await Promise.all(Object.entries(names).map(async ([k, n]) => [k, await files.has(n)] as const))) as Record<
    keyof typeof names,
    boolean
  >;
  if (!Object.values(has).some(Boolean)) return null;
  const kv = has.decoder;
  const wanted: (keyof typeof names)[] = kv ? ['encoder', 'decoder', 'vits'] : ['encoder', 'fsdec', 'sdec', 'vits'];
  const missing = wanted.filter((k) => !has[k]).map((k) => names[k]);
  if (missing.length > 0)
    throw new BackendError('voice_corrupt', `this voice's fine-tuned model is incomplete (missing ${missing.join(', ')}); fine-tune it again`);
  const read = (k: keyof typeof names): Promise<Uint8Array> => files.read(names[k]);
  if (kv) {
    const [encoder, decoder, vits] = await Promise.all([read('encoder'), read('decoder'), read('vits')]);
    return { kind: 'kv', encoder, decoder, vits };
  }
  const [encoder, fsdec, sdec, vits] = await Promise.all([read('encoder'), read('fsdec'), read('sdec'), read('vits')]);
  return { kind: 'legacy', encoder, fsdec, sdec, vits };
}
