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
    const t = config.gptSovitsTraining;
    backends.push(
      createGptSovitsBackend({
        modelsDir: config.gptSovitsModelsDir,
        streaming: config.gptSovitsStreaming,
        executionProvider: config.gptSovitsProvider,
        ...(t
          ? {
              training: {
                home: t.home,
                ...(t.python ? { python: t.python } : {}),
                version: t.version,
                ...(t.pretrainedDir ? { pretrainedDir: t.pretrainedDir } : {}),
                sovitsEpochs: t.sovitsEpochs,
                gptEpochs: t.gptEpochs,
                ...(t.batchSize ? { batchSize: t.batchSize } : {}),
                gpuSlots: t.gpuSlots,
                device: t.device,
              },
            }
          : {}),
      }),
    );
    logger.info({ fineTuning: Boolean(t) }, 'GPT-SoVITS backend enabled');
  }
  return backends;
}
