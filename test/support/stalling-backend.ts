import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedVoice, VoiceBackend, VoiceFiles } from '../../src/engine/backend.ts';

/**
 * Wraps a backend so that after its first chunk the synthesis stalls for `stallMs`
 * (honouring the abort signal), as a slow model between two phrases does. While it
 * stalls no chunk leaves, so no per-chunk check runs: only the ticket's timer can
 * notice a revocation made in another process. `onStall` is called as the stall begins.
 */
export function stallingAfterFirstChunk<B extends VoiceBackend>(backend: B, stallMs: number, onStall: () => void = () => {}): B {
  const loadVoice = async (files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> => {
    const voice = await backend.loadVoice(files, signal);
    return {
      sizeBytes: voice.sizeBytes,
      dispose: () => voice.dispose(),
      async *synthesize(request) {
        let first = true;
        for await (const chunk of voice.synthesize(request)) {
          if (!first) {
            onStall();
            await sleep(stallMs, undefined, { signal: request.signal });
          }
          first = false;
          yield chunk;
        }
      },
    };
  };
  return new Proxy(backend, {
    get: (target, property, receiver) => (property === 'loadVoice' ? loadVoice : Reflect.get(target, property, receiver)),
  });
}
