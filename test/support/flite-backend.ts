import type { BackendInfo, FineTuneResult, LoadedVoice, PreparedSample, SynthesisRequest, VoiceBackend, VoiceFiles } from '../../src/engine/backend.ts';
import { decodeAudio } from '../../src/engine/audio/decode.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { fliteWav } from './spoken-audio.ts';

/**
 * A test-only backend that speaks real synthetic speech: flite's slt voice reads the
 * text sentence by sentence, one chunk per sentence at 24 kHz (as a backend hands
 * over phrases). Its "model" is a file naming the voice, ready as a zero-shot preview.
 */
export function createFliteBackend(): VoiceBackend {
  const info: BackendInfo = { name: 'flite', description: 'test-only flite backend', languages: ['en'], targetSpeechSeconds: 3, minSampleRate: 8000 };
  return {
    info,
    async prepareSample(_sample, files: VoiceFiles): Promise<PreparedSample> {
      await files.write('flite.json', Buffer.from(JSON.stringify({ voice: 'slt' })));
      return { zeroShot: true };
    },
    async fineTune(): Promise<FineTuneResult> {
      return { metrics: {} };
    },
    async loadVoice(files: VoiceFiles): Promise<LoadedVoice> {
      await files.read('flite.json');
      return {
        sizeBytes: 1024,
        dispose() {},
        async *synthesize(request: SynthesisRequest): AsyncGenerator<PcmChunk> {
          for (const sentence of request.text.split(/(?<=[.!?])\s+/).filter(Boolean)) {
            request.signal.throwIfAborted();
            const pcm = await decodeAudio(fliteWav('slt', sentence), { sampleRate: 24_000 });
            yield { samples: pcm.samples, sampleRate: 24_000 };
          }
        },
      };
    },
  };
}
