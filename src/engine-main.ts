import { loadDotenv } from './config/dotenv.ts';
import { loadConfigOrExit } from './config/config.ts';
import { startEngineNode } from './app/engine-service.ts';
import { createLogger } from './observability/logger.ts';
import { runUntilSignal } from './app/process-lifecycle.ts';

/** `npm run engine`: an engine node serving synthesis to bots on other hosts (docs/deployment/engine-nodes.md). */
loadDotenv();
const config = loadConfigOrExit(process.env);
const logger = createLogger({ level: config.logLevel, name: 'vocalis-engine' });
await runUntilSignal(logger, () => startEngineNode(config, logger), { deadlineMs: config.shutdownTimeoutMs });
