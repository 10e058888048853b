import type { BackendInfo } from '../engine/backend.ts';
import type { PcmChunk } from '../engine/pcm.ts';

import type { SampleVerdict } from '../engine/audio/quality-verdict.ts';

export type { SampleVerdict };

export interface ClipAnalysis {
  readonly accepted: boolean;
  readonly verdict: SampleVerdict;
  readonly pcm: PcmChunk;
  readonly durationSeconds: number;
  readonly speechSeconds: number;
  readonly sourceRate: number;
}

/** How the core turns uploaded audio into judged, stored clips and training audio. */
export interface SampleIntake {
  analyseClip(audio: Uint8Array, backend: BackendInfo, speechSoFar: number, signal?: AbortSignal): Promise<ClipAnalysis>;
  judgeSample(clips: readonly PcmChunk[], backend: BackendInfo): Promise<SampleVerdict>;
  assemble(clips: readonly PcmChunk[], sampleRate: number): Promise<PcmChunk>;
}
