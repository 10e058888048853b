import { z } from 'zod';
import type { SpeechRequester } from '../core/ports.ts';
import type { SpeechOptions, VoiceTarget } from '../engine/speech-engine.ts';

/** The body of `POST /v1/speak`: which voice, what to say, and who asks where (the node asks its own gate). */
export interface SpeakRequestBody {
  readonly target: VoiceTarget;
  readonly options: Omit<SpeechOptions, 'signal'>;
  readonly requester: SpeechRequester['requester'];
  readonly context: SpeechRequester['context'];
}

export const SPEAK_PATH = '/v1/speak';
/** Text is limited by the backends far below this; the bound keeps a node from buffering junk. */
export const MAX_BODY_BYTES = 256 * 1024;

const id = z.string().min(1).max(200);
const schema = z.object({
  target: z.object({ userId: id, voiceId: id, version: z.number().int().min(0), backend: id }),
  options: z.object({
    text: z.string().min(1).max(100_000),
    language: z.string().min(1).max(32),
    speed: z.number().positive().max(10),
    variability: z.number().min(0).max(10),
  }),
  requester: z.object({ platform: id, platformUserId: id }),
  context: z.object({ platform: id, contextId: id }),
});

export function encodeSpeakRequest(body: SpeakRequestBody): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The request, or null for a body that is not one (the node answers 400 without saying more). */
export function decodeSpeakRequest(bytes: Uint8Array): SpeakRequestBody | null {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
