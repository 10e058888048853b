import type { PcmChunk } from '../pcm.ts';

/** Decoded mono PCM plus what the source was, for the quality verdict. */
export interface DecodedAudio extends PcmChunk {
  /** The source's own sample rate (before resampling), or 0 when ffmpeg did not report it. */
  readonly sourceSampleRate: number;
  readonly sourceChannels: number;
  /** Channels left out of the mono mix because they were silent. */
  readonly silentChannels: number;
  /** NaN/Inf samples that were replaced. */
  readonly nonFiniteSamples: number;
  readonly container: string;
}
