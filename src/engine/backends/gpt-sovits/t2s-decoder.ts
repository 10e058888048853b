/**
 * The autoregressive semantic-token loop for one segment: picks the loop that fits the graphs a
 * voice has — Vocalis's one-graph stage decoder with a caller-held KV cache (kv-decoder.ts), or
 * upstream-style t2s_fsdec + t2s_sdec (legacy-decoder.ts) for directories exported that way.
 * All state (the KV cache included) lives in the returned object, one per request segment;
 * sessions are shared and stateless.
 */
import { KvSemanticDecoder } from './kv-decoder.ts';
import type { KvDecoderOptions } from './kv-decoder.ts';
import { LegacySemanticDecoder } from './legacy-decoder.ts';
import type { Session } from './onnx-session.ts';
import type { EncoderInputs, SemanticDecoder } from './semantic-decoder.ts';

export { EOS, MAX_TOKENS, MIN_TOKENS_BEFORE_EOS } from './semantic-decoder.ts';
export type { EncoderInputs, SemanticDecoder } from './semantic-decoder.ts';

export type T2sGraphs =
  | { readonly kind: 'kv'; readonly encoder: Session; readonly decoder: Session }
  | { readonly kind: 'legacy'; readonly encoder: Session; readonly fsdec: Session; readonly sdec: Session };

export function startDecoder(graphs: T2sGraphs, inputs: EncoderInputs, options: Partial<KvDecoderOptions> = {}): Promise<SemanticDecoder> {
  if (graphs.kind === 'kv') return KvSemanticDecoder.start(graphs, inputs, options);
  return LegacySemanticDecoder.start(graphs, inputs, options.maxTokens);
}
