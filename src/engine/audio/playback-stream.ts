import { Readable } from 'node:stream';
import type { PlaybackBuffer } from './playback-buffer.ts';

/** Opus "silence" frame, the one Discord itself sends (0xF8 0xFF 0xFE). */
export const OPUS_SILENCE_FRAME = Uint8Array.of(0xf8, 0xff, 0xfe);

export interface PlaybackStreamOptions {
  /**
   * While playing and starved this long, push one silence frame so the player's
   * missed-frame counter (it stops at 5 = 100 ms) resets. Default 60 ms.
   */
  readonly starvationGuardMs?: number;
}

/**
 * Wraps a PlaybackBuffer as an object-mode Readable of Opus frames, what
 * @discordjs/voice's createAudioResource(stream, { inputType: StreamType.Opus })
 * reads: the AudioPlayer calls read() once per 20 ms tick and sends silence
 * (counting a miss) when it returns null. The stream pushes nothing until the
 * buffer reaches its lead, so the player stays in Buffering until then; it holds
 * at most one frame itself so cancellation drops almost nothing in flight.
 */
export function playbackReadable(buffer: PlaybackBuffer, options: PlaybackStreamOptions = {}): Readable & { silenceFramesInserted(): number } {
  const guardMs = options.starvationGuardMs ?? 60;
  let waiting = false;
  let guard: NodeJS.Timeout | null = null;
  let inserted = 0;

  const clearGuard = (): void => {
    if (guard) clearTimeout(guard);
    guard = null;
  };

  const stream = new Readable({
    objectMode: true,
    highWaterMark: 1,
    read() {
      pump();
    },
    destroy(error, callback) {
      clearGuard();
      buffer.cancel('stream_destroyed');
      callback(error);
    },
  });

  function pump(): void {
    if (waiting || stream.destroyed) return;
    const frame = buffer.read();
    if (frame) {
      clearGuard();
      stream.push(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
      return;
    }
    if (buffer.state === 'ended') {
      clearGuard();
      stream.push(null);
      return;
    }
    if (buffer.state === 'cancelled') {
      stream.destroy();
      return;
    }
    if (buffer.state === 'playing' && !guard) {
      guard = setTimeout(() => {
        guard = null;
        if (buffer.state === 'playing' && buffer.queued === 0 && waiting) {
          inserted++;
          waiting = false;
          stream.push(Buffer.from(OPUS_SILENCE_FRAME));
        }
      }, guardMs);
    }
    waiting = true;
    void buffer.whenReadable().then(() => {
      if (!waiting) return;
      waiting = false;
      pump();
    });
  }

  buffer.on('state', (state) => {
    if (state === 'cancelled' && !stream.destroyed) {
      clearGuard();
      stream.destroy();
    }
  });

  return Object.assign(stream, { silenceFramesInserted: () => inserted });
}
