import { loadDotenv } from './config/dotenv.ts';
import { loadConfigOrExit } from './config/config.ts';
import { runDiscordShardProcess } from './app/discord-shard.ts';
import { createLogger } from './observability/logger.ts';

/** One Discord shard, spawned by the service's ShardingManager when DISCORD_SHARDS is set (never run by hand). */
loadDotenv();
const config = loadConfigOrExit(process.env);
const logger = createLogger({ level: config.logLevel, name: 'vocalis-discord-shard' }).child({ shard: Number(process.env['SHARDS'] ?? 0) });
await runDiscordShardProcess(config, logger);
