import type { LoadedVoice, VoiceBackend, VoiceFiles } from '../../src/engine/backend.ts';

/**
 * Wraps a backend so its synthesis never sees the abort signal: it keeps producing
 * chunks after a revocation. Only the engine's own per-chunk consent check can stop
 * such a stream, so tests built on it fail when that check is missing.
 */
export function signalDeaf<B extends VoiceBackend>(backend: B): B {
  const never = new AbortController().signal;
  const loadVoice = async (files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> => {
    const voice = await backend.loadVoice(files, signal);
    return {
      sizeBytes: voice.sizeBytes,
      dispose: () => voice.dispose(),
      synthesize: (request) => voice.synthesize({ ...request, signal: never }),
    };
  };
  // A proxy, not a copy: everything else (fine-tune, counters) stays the wrapped backend's own.
  return new Proxy(backend, {
    get: (target, property, receiver) => (property === 'loadVoice' ? loadVoice : Reflect.get(target, property, receiver)),
  });
}
