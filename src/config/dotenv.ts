import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { config as dotenvConfig } from 'dotenv';

/** Reads `.env` from the working directory when present; real environment variables win. */
export function loadDotenv(path = resolve(process.cwd(), '.env')): void {
  if (existsSync(path)) dotenvConfig({ path, quiet: true, override: false });
}
