// What the fake voice server decrypted from the bot, and measurements over it.
import { SILENCE_FRAME } from './rtp-crypto.ts';

export interface RecordedFrame {
  readonly guildId: string;
  /** The bot's user id (the voice session's identity). */
  readonly userId: string;
  readonly ssrc: number;
  readonly sequence: number;
  readonly timestamp: number;
  /** The Opus frame: under DAVE, as the members decrypted it. */
  readonly opus: Buffer;
  /** 'decrypted': it came end-to-end encrypted and the members decrypted it; 'plain': it came as plain Opus. */
  readonly e2ee: 'decrypted' | 'plain';
  /** process.hrtime.bigint() at arrival. */
  readonly arrivedAtNs: bigint;
}

export interface FrameStats {
  readonly count: number;
  /** Frames that are not the 3-byte Opus silence frame. */
  readonly audioCount: number;
  /** audioCount × 20 ms. */
  readonly audioDurationMs: number;
  /** Silence frames with real audio after them in the same utterance: audible gaps. */
  readonly silenceMidUtterance: number;
  /** Steps in RTP sequence other than +1. */
  readonly sequenceGaps: number;
  /** Steps in RTP timestamp other than +960 (one 20 ms frame at 48 kHz). */
  readonly timestampGaps: number;
  readonly meanIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Standard deviation of arrival intervals. */
  readonly jitterMs: number;
}

export function isSilenceFrame(opus: Buffer): boolean {
  return opus.equals(SILENCE_FRAME);
}

/**
 * Splits frames into utterances wherever arrival pauses for longer than gapMs
 * (the player stops sending between resources).
 */
export function splitUtterances(frames: readonly RecordedFrame[], gapMs = 200): RecordedFrame[][] {
  const utterances: RecordedFrame[][] = [];
  let current: RecordedFrame[] = [];
  let previous: RecordedFrame | undefined;
  for (const frame of frames) {
    if (previous && Number(frame.arrivedAtNs - previous.arrivedAtNs) / 1e6 > gapMs) {
      utterances.push(current);
      current = [];
    }
    current.push(frame);
    previous = frame;
  }
  if (current.length > 0) utterances.push(current);
  return utterances;
}

export function analyzeFrames(frames: readonly RecordedFrame[]): FrameStats {
  const intervals: number[] = [];
  let sequenceGaps = 0;
  let timestampGaps = 0;
  for (let i = 1; i < frames.length; i++) {
    const a = frames[i - 1]!;
    const b = frames[i]!;
    intervals.push(Number(b.arrivedAtNs - a.arrivedAtNs) / 1e6);
    if (((a.sequence + 1) & 0xffff) !== b.sequence) sequenceGaps++;
    if ((a.timestamp + 960) >>> 0 !== b.timestamp) timestampGaps++;
  }
  let silenceMidUtterance = 0;
  for (const utterance of splitUtterances(frames)) {
    const lastAudio = utterance.findLastIndex((f) => !isSilenceFrame(f.opus));
    const firstAudio = utterance.findIndex((f) => !isSilenceFrame(f.opus));
    for (let i = firstAudio + 1; i < lastAudio; i++) if (isSilenceFrame(utterance[i]!.opus)) silenceMidUtterance++;
  }
  const mean = intervals.length > 0 ? intervals.reduce((s, x) => s + x, 0) / intervals.length : 0;
  const variance = intervals.length > 0 ? intervals.reduce((s, x) => s + (x - mean) ** 2, 0) / intervals.length : 0;
  const audioCount = frames.filter((f) => !isSilenceFrame(f.opus)).length;
  return {
    count: frames.length,
    audioCount,
    audioDurationMs: audioCount * 20,
    silenceMidUtterance,
    sequenceGaps,
    timestampGaps,
    meanIntervalMs: mean,
    maxIntervalMs: intervals.length > 0 ? Math.max(...intervals) : 0,
    jitterMs: Math.sqrt(variance),
  };
}
