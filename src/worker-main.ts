import { loadDotenv } from './config/dotenv.ts';
import { loadConfigOrExit } from './config/config.ts';
import { openRuntime } from './app/runtime.ts';
import { createLogger } from './observability/logger.ts';
import { runUntilSignal } from './app/process-lifecycle.ts';

/** `npm run worker`: a fine-tune worker only, for GPU hosts sharing the service's Redis. */
loadDotenv();
const config = loadConfigOrExit(process.env);
const logger = createLogger({ level: config.logLevel, name: 'vocalis-worker' });
await runUntilSignal(
  logger,
  async () => {
    const runtime = await openRuntime(config, logger, { queue: true, worker: true, stopsOnSignals: true });
    logger.info({ backends: runtime.backends.names(), concurrency: config.workerConcurrency }, 'fine-tune worker running');
    return { stop: () => runtime.close(), stillOpen: () => runtime.stillOpen() };
  },
  { deadlineMs: config.shutdownTimeoutMs },
);
