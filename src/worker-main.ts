import { loadDotenv } from './config/dotenv.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { openRuntime } from './app/runtime.ts';
import { createLogger } from './observability/logger.ts';
import { runUntilSignal } from './app/process-lifecycle.ts';

/** `npm run worker`: a fine-tune worker only, for GPU hosts sharing the service's Redis. */
loadDotenv();
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const logger = createLogger({ level: config.logLevel, name: 'vocalis-worker' });
await runUntilSignal(logger, async () => {
  const runtime = await openRuntime(config, logger, { queue: true, worker: true, role: 'worker' });
  logger.info({ backends: runtime.backends.names(), concurrency: config.workerConcurrency }, 'fine-tune worker running');
  return { stop: () => runtime.close() };
});
