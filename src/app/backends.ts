import type { Config } from '../config/config.ts';
import type { VoiceBackend } from '../engine/backend.ts';
import { createClassicBackend } from '../engine/backends/classic/index.ts';
import { createGptSovitsBackend } from '../engine/backends/gpt-sovits/index.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * The backends this process offers: the CPU `classic` backend always (it needs no
 * downloads), GPT-SoVITS when its model directory is configured.
 */
export async function createBackends(config: Config, logger: Logger): Promise<VoiceBackend[]> {
  const backends: VoiceBackend[] = [createClassicBackend()];
  if (config.gptSovitsModelsDir) {
    backends.push(createGptSovitsBackend({ modelsDir: config.gptSovitsModelsDir, streaming: config.gptSovitsStreaming, executionProvider: config.gptSovitsProvider }));
    logger.info('GPT-SoVITS backend enabled');
  }
  return backends;
}
