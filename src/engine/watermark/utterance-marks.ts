import type { MarkKey } from './mark-key.ts';
import type { MarkPayload } from './payload.ts';

/**
 * What the engine needs to mark an utterance: the deployment's key, and a place
 * that records a new utterance of a voice and hands back the payload its audio
 * will carry (src/storage keeps the token's meaning; the engine never sees it).
 */
export interface UtteranceMarks {
  readonly key: MarkKey;
  issue(utterance: { readonly userId: string; readonly voiceId: string }): MarkPayload;
}
