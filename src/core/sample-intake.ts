import type { BackendInfo } from '../engine/backend.ts';
import type { PcmChunk } from '../engine/pcm.ts';

import type { SampleProblem, SampleVerdict } from '../engine/audio/quality-verdict.ts';
import type { ConsentCheckProblem } from '../consent/verification/consent-check-problem.ts';

export type { SampleVerdict };

/** Why a clip falls short: its quality, or what consent verification found. */
export type ClipProblem = SampleProblem | ConsentCheckProblem;

/** A clip's verdict as users see it: the sample verdict, or a verification refusal in its place. */
export interface ClipVerdict extends Omit<SampleVerdict, 'problems'> {
  readonly problems: readonly ClipProblem[];
}

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
