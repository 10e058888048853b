import type { Config } from '../config/config.ts';
import type { VoiceBackend } from '../engine/backend.ts';
import type { Logger } from '../observability/logger.ts';

/** The backends this process offers, from configuration. */
export async function createBackends(config: Config, logger: Logger): Promise<VoiceBackend[]> {
  const backends: VoiceBackend[] = [];
  logger.debug({ gptSovits: Boolean(config.gptSovitsModelsDir) }, 'creating voice backends');
  return backends;
}
