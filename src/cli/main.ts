import { parseArgs } from 'node:util';
import { loadDotenv } from '../config/dotenv.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { isUserFacingError } from '../core/user-facing-error.ts';
import { openRuntime } from '../app/runtime.ts';
import { createLogger } from '../observability/logger.ts';
import { createCliContext, type CliContext } from './cli-context.ts';
import { EXIT, UsageError, type CommandResult } from './cli-io.ts';
import { auditCommand } from './commands/audit.ts';
import { cloneCommand } from './commands/clone.ts';
import { consentCommand } from './commands/consent.ts';
import { jobsCommand, voicesCommand } from './commands/listings.ts';
import { markCommand } from './commands/mark.ts';
import { modelsCommand } from './commands/models.ts';
import { sampleCommand } from './commands/sample.ts';
import { speakCommand } from './commands/speak.ts';

const HELP = `vocalis — the Vocalis operator command line

  vocalis consent grant --user ID [--platform cli] [--scope CONTEXT] [--language en|zh] [--speakers owner|context|ID,ID]
  vocalis consent show --user ID
  vocalis consent revoke --user ID [--reason TEXT]
  vocalis sample add --user ID FILE...
  vocalis clone --user ID [--backend NAME] [--wait]
  vocalis speak --user ID --out FILE.ogg [--speed X] (TEXT | --text-file F)
  vocalis voices
  vocalis jobs
  vocalis audit verify | export [--out FILE]
  vocalis mark check FILE [--language en|zh]
  vocalis models check --dir DIR | fetch --dir DIR [--base-url URL]

Every command takes --json for machine-readable output.
Exit codes: 0 done, 1 refused (consent, audio, tampered ledger), 2 usage error, 3 failure.
Works against VOCALIS_DATA_DIR; starts its own Redis and worker when no service runs.`;

const OPTIONS = {
  user: { type: 'string' },
  platform: { type: 'string' },
  scope: { type: 'string' },
  language: { type: 'string' },
  speakers: { type: 'string' },
  reason: { type: 'string' },
  backend: { type: 'string' },
  wait: { type: 'boolean' },
  out: { type: 'string' },
  speed: { type: 'string' },
  'text-file': { type: 'string' },
  dir: { type: 'string' },
  manifest: { type: 'string' },
  'base-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function dispatch(ctx: CliContext, command: string | undefined, action: string | undefined): Promise<CommandResult> {
  switch (command) {
    case 'consent':
      return consentCommand(ctx, action);
    case 'sample':
      return sampleCommand(ctx, action);
    case 'clone':
      return cloneCommand(ctx);
    case 'speak':
      return speakCommand(ctx);
    case 'voices':
      return voicesCommand(ctx);
    case 'jobs':
      return jobsCommand(ctx);
    case 'audit':
      return auditCommand(ctx, action);
    case 'models':
      return modelsCommand(ctx, action);
    case 'mark':
      return markCommand(ctx, action);
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/** Commands whose second word is an action rather than an argument. */
const WITH_ACTION = new Set(['consent', 'sample', 'audit', 'models', 'mark']);

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return command || parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  const action = WITH_ACTION.has(command) ? rest.shift() : undefined;
  const json = parsed.values.json === true;
  const ctx = createCliContext({
    positionals: rest,
    values: parsed.values,
    openRuntime: async (needs) => {
      loadDotenv();
      const config = loadConfig(process.env);
      // The CLI's own logs go to stderr and stay quiet unless asked for.
      const logger = createLogger({ level: process.env['VOCALIS_LOG_LEVEL'] ?? 'warn', destination: process.stderr });
      return openRuntime(config, logger, needs);
    },
  });
  try {
    const result = await dispatch(ctx, command, action);
    process.stdout.write(`${json ? JSON.stringify(result.json, null, 2) : result.text}\n`);
    return result.exitCode;
  } catch (error) {
    return report(error, json);
  } finally {
    await ctx.close();
  }
}

function report(error: unknown, json: boolean): number {
  const write = (code: string, message: string, exitCode: number): number => {
    process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `vocalis: ${message}\n`);
    return exitCode;
  };
  if (error instanceof UsageError) return write('usage', `${error.message}\n\n${HELP}`, EXIT.usage);
  if (error instanceof ConfigError) return write('config', error.message, EXIT.usage);
  if (isUserFacingError(error)) return write(error.code, error.message, EXIT.refused);
  return write('failure', error instanceof Error ? error.message : String(error), EXIT.failure);
}

process.exitCode = await main(process.argv.slice(2));
