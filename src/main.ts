import { loadDotenv } from './config/dotenv.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { startService } from './app/service.ts';
import { createLogger } from './observability/logger.ts';
import { runUntilSignal } from './app/process-lifecycle.ts';

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
const logger = createLogger({ level: config.logLevel });
await runUntilSignal(logger, () => startService(config, logger));
