/**
 * What a GPT-SoVITS voice keeps in its (encrypted) VoiceFiles: the reference clip at 32 kHz, its
 * SSL features (the cached prompt features), the prompt phones, and — once fine-tuned — its own
 * four graphs, which replace the shared base graphs.
 */
import { z } from 'zod';
import { BackendError } from '../../backend.ts';
import type { VoiceFiles } from '../../backend.ts';

export const CONDITIONING_FILE = 'gpt-sovits-voice.json';
export const REF_AUDIO_FILE = 'gpt-sovits-ref-32k.f32';
export const SSL_FILE = 'gpt-sovits-ssl.f32';
export const VOICE_GRAPH_FILES = {
  encoder: 'gpt-sovits-t2s_encoder.onnx',
  fsdec: 'gpt-sovits-t2s_fsdec.onnx',
  sdec: 'gpt-sovits-t2s_sdec.onnx',
  vits: 'gpt-sovits-vits.onnx',
} as const;

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

/** The voice's own graphs when all four are present (fine-tuned); null for a zero-shot voice. */
export async function readVoiceGraphs(files: VoiceFiles): Promise<Record<keyof typeof VOICE_GRAPH_FILES, Uint8Array> | null> {
  const present = await Promise.all(Object.values(VOICE_GRAPH_FILES).map((name) => files.has(name)));
  if (present.every((p) => !p)) return null;
  const missing = Object.values(VOICE_GRAPH_FILES).filter((_, i) => !present[i]);
  if (missing.length > 0) throw new BackendError('voice_corrupt', `this voice's fine-tuned model is incomplete (missing ${missing.join(', ')}); fine-tune it again`);
  const [encoder, fsdec, sdec, vits] = await Promise.all(Object.values(VOICE_GRAPH_FILES).map((name) => files.read(name)));
  return { encoder: encoder!, fsdec: fsdec!, sdec: sdec!, vits: vits! };
}
