/**
 * Creating ONNX Runtime sessions with errors an operator can act on: a missing or unreadable
 * model names the file and the fix. CPU by default; CUDA when configured (and installed).
 */
import { access } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { BackendError } from '../../backend.ts';

export type ExecutionProvider = 'cpu' | 'cuda';
export type Session = ort.InferenceSession;

const FIX = 'run `vocalis models fetch` or produce it as docs/backends/gpt-sovits.md describes, then `vocalis models check`';

function providers(provider: ExecutionProvider): string[] {
  return provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}

function options(provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  // One intra-op thread pool per session would oversubscribe with many voices; keep them small.
  return { executionProviders: providers(provider), intraOpNumThreads: provider === 'cpu' ? 1 : 0, graphOptimizationLevel: 'all' };
}

/** A session from a model file; `label` names the file in errors. */
export async function sessionFromFile(path: string, provider: ExecutionProvider): Promise<Session> {
  try {
    await access(path);
  } catch {
    throw new BackendError('model_missing', `GPT-SoVITS model file ${path} is missing; ${FIX}`);
  }
  try {
    return await ort.InferenceSession.create(path, options(provider));
  } catch (error) {
    throw loadError(path, provider, error);
  }
}

/** A session from bytes held in memory (a fine-tuned voice's decrypted graph: never written as plaintext). */
export async function sessionFromBytes(bytes: Uint8Array, label: string, provider: ExecutionProvider): Promise<Session> {
  try {
    return await ort.InferenceSession.create(bytes, options(provider));
  } catch (error) {
    throw loadError(label, provider, error);
  }
}

function loadError(label: string, provider: ExecutionProvider, error: unknown): BackendError {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (provider === 'cuda' && /cuda|provider/i.test(detail ?? '')) {
    return new BackendError(
      'cuda_unavailable',
      `could not start the CUDA execution provider for ${label} (${detail}); install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a GPU host, or use the CPU provider`,
    );
  }
  return new BackendError('model_corrupt', `GPT-SoVITS model ${label} could not be loaded (${detail}); the file is corrupt or not an ONNX model: ${FIX}`);
}
