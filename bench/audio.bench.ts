import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeAudio } from '../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../src/engine/audio/opus-frames.ts';
import { createOpusEncoder, opusBinding } from '../src/engine/audio/opus-codec.ts';
import { judgeSample } from '../src/engine/audio/quality-verdict.ts';
import { assembleSample } from '../src/engine/audio/sample-assembly.ts';
import { warmUpVad } from '../src/engine/audio/vad.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SPEAKER_DIR = resolve(import.meta.dirname, '..', '..', 'shared', 'data', 'librispeech', 'test-other', '3331');

const suite: BenchSuite = {
  name: 'audio',
  async run() {
    const files = readdirSync(SPEAKER_DIR)
      .filter((f) => f.endsWith('.flac'))
      .sort();
    if (files.length === 0) throw new Error(`no FLAC files in ${SPEAKER_DIR}`);
    // One 60 s Ogg Opus voice note, as Telegram delivers it.
    const clips = [];
    for (const f of files) clips.push(await decodeAudio(new Uint8Array(readFileSync(join(SPEAKER_DIR, f))), { sampleRate: 16000 }));
    const joined = new Float32Array(60 * 16000);
    let at = 0;
    for (const c of clips) {
      const take = Math.min(c.samples.length, joined.length - at);
      joined.set(c.samples.subarray(0, take), at);
      at += take;
    }
    const pcm = { samples: joined, sampleRate: 16000 };
    const ogg = await encodeOggOpus(pcm);
    await warmUpVad();

    const runs = 3;
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const decoded = await decodeAudio(ogg, { sampleRate: 16000 });
      const sample = await assembleSample([decoded], { sampleRate: 16000 });
      judgeSample(sample.analysis, { targetSpeechSeconds: 60, minSampleRate: 16000 });
      best = Math.min(best, performance.now() - t0);
    }

    // Synthetic voices are mono: Discord's decoders take mono-coded Opus packets, and they encode twice as fast.
    const streamsPerCore = (channels: 1 | 2, bitrate: number): number => {
      const encoder = createOpusEncoder({ sampleRate: 48000, channels, bitrate });
      const frame = new Int16Array(960 * channels);
      for (let i = 0; i < frame.length; i++) frame[i] = Math.round(8000 * Math.sin(i / 7) + 1500 * Math.sin(i / 2.3));
      const frames = 1500; // 30 s
      const started = performance.now();
      for (let i = 0; i < frames; i++) encoder.encode(frame);
      return (frames * 0.02) / ((performance.now() - started) / 1000);
    };
    const monoStreams = streamsPerCore(1, 48000);
    const stereoStreams = streamsPerCore(2, 64000);

    const t2 = performance.now();
    await encodeOggOpus(pcm);
    const muxMs = performance.now() - t2;

    const figures: BenchFigure[] = [
      { metric: 'decode (Ogg Opus) + VAD + verdict, 60 s sample', value: best / 1000, unit: 's', target: '<= 0.5 s' },
      {
        metric: `Opus encode 48 kHz mono 20 ms, complexity 5 (${opusBinding()}), real-time streams per core`,
        value: monoStreams,
        unit: 'streams',
        target: '>= 200',
      },
      { metric: `Opus encode 48 kHz stereo 20 ms, complexity 5 (${opusBinding()}), real-time streams per core`, value: stereoStreams, unit: 'streams' },
      { metric: 'Ogg Opus encode + mux of 60 s (16 kHz in, mono 48 kHz out)', value: muxMs / 1000, unit: 's' },
    ];
    return figures;
  },
};

export default suite;
