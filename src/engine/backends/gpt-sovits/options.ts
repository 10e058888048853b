/** Configuration of the GPT-SoVITS backend; every field but the models directory has a default. */
import type { ExecutionProvider } from './onnx-session.ts';

export type StreamingMode = 'segment' | 'chunk';

export interface GptSovitsOptions {
  /** Shared graphs: cnhubert.onnx, t2s_*.onnx, vits.onnx, optional bert.onnx + bert-vocab.txt. */
  readonly modelsDir: string;
  readonly executionProvider?: ExecutionProvider;
  /** `segment`: a segment's audio once it is generated; `chunk`: every `chunkTokens` tokens. */
  readonly streaming?: StreamingMode;
  /** Tokens per chunk in chunk mode (25 tokens = 1 s); upstream uses 16–24. */
  readonly chunkTokens?: number;
  /** Tokens of left context each chunk decodes again, for smooth joins. */
  readonly overlapTokens?: number;
  /** Crossfade length at chunk joins. */
  readonly fadeMs?: number;
  /** Segments generating at once across all voices; more wait their turn. */
  readonly maxConcurrent?: number;
  /** Model bytes of fine-tuned voices' sessions to keep loaded. */
  readonly voiceModelCacheBytes?: number;
  /** Upper bound on tokens per segment (≤ 1500, upstream's cap). */
  readonly maxTokensPerSegment?: number;
  /** Fixed sampling seed (segment i uses seed + i) for reproducible output; random when absent. */
  readonly seed?: number;
}

export interface ResolvedOptions {
  readonly modelsDir: string;
  readonly executionProvider: ExecutionProvider;
  readonly streaming: StreamingMode;
  readonly chunkTokens: number;
  readonly overlapTokens: number;
  readonly fadeMs: number;
  readonly maxConcurrent: number;
  readonly voiceModelCacheBytes: number;
  readonly maxTokensPerSegment: number;
  readonly seed: number | null;
}

export function resolveOptions(o: GptSovitsOptions): ResolvedOptions {
  return {
    modelsDir: o.modelsDir,
    executionProvider: o.executionProvider ?? 'cpu',
    streaming: o.streaming ?? 'chunk',
    chunkTokens: o.chunkTokens ?? 20,
    overlapTokens: o.overlapTokens ?? 4,
    fadeMs: o.fadeMs ?? 20,
    maxConcurrent: o.maxConcurrent ?? 4,
    voiceModelCacheBytes: o.voiceModelCacheBytes ?? 2 * 1024 ** 3,
    maxTokensPerSegment: Math.min(o.maxTokensPerSegment ?? 1500, 1500),
    seed: o.seed ?? null,
  };
}
