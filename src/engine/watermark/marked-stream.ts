import type { PcmChunk } from '../pcm.ts';
import { MarkEmbedder } from './mark-embedder.ts';
import type { UtteranceMarks } from './utterance-marks.ts';

/**
 * Longest piece the mark is added to at once. A backend may hand over a whole
 * phrase; cutting it up lets the first piece leave after ~1 ms of marking instead
 * of after the phrase's worth, so the mark costs next to nothing in first-packet time.
 */
const PIECE_SECONDS = 0.12;

/**
 * Marks a stream of synthesised speech as it passes. The utterance is recorded
 * (and its token drawn) when its first audio exists, so a request that never
 * produced sound leaves no record. A change of sample rate starts a fresh embedder.
 */
export async function* markedSpeech(
  chunks: AsyncIterable<PcmChunk>,
  marks: UtteranceMarks,
  utterance: { readonly userId: string; readonly voiceId: string },
  /** Throws when the utterance may no longer be made (consent ended): checked before it is recorded. */
  stillAllowed: () => void,
): AsyncGenerator<PcmChunk> {
  let embedder: MarkEmbedder | null = null;
  for await (const chunk of chunks) {
    if (chunk.samples.length === 0) continue;
    if (!embedder || embedder.sampleRate !== chunk.sampleRate) {
      if (embedder) yield { samples: embedder.flush(), sampleRate: embedder.sampleRate };
      stillAllowed();
      embedder = new MarkEmbedder({ key: marks.key, payload: marks.issue(utterance), sampleRate: chunk.sampleRate });
    }
    const piece = Math.max(1, Math.round(PIECE_SECONDS * chunk.sampleRate));
    for (let at = 0; at < chunk.samples.length; at += piece) {
      const out = embedder.process(chunk.samples.subarray(at, at + piece));
      if (out.length > 0) yield { samples: out, sampleRate: chunk.sampleRate };
    }
  }
  if (embedder) {
    const tail = embedder.flush();
    if (tail.length > 0) yield { samples: tail, sampleRate: embedder.sampleRate };
  }
}
