import { loadDotenv } from './config/dotenv.ts';
import { loadConfigOrExit } from './config/config.ts';
import { startService } from './app/service.ts';
import { createLogger } from './observability/logger.ts';
import { runUntilSignal } from './app/process-lifecycle.ts';

/** `npm start`: the whole service on this host. */
loadDotenv();
const config = loadConfigOrExit(process.env);
const logger = createLogger({ level: config.logLevel });
await runUntilSignal(logger, () => startService(config, logger), { deadlineMs: config.shutdownTimeoutMs });
