import type { PlatformIdentity } from '../consent/consent-gate.ts';
import type { Runtime, RuntimeNeeds } from '../app/runtime.ts';
import { UsageError } from './cli-io.ts';

/** What a command sees: its parsed arguments and a lazily opened runtime. */
export interface CliContext {
  readonly positionals: readonly string[];
  readonly json: boolean;
  option(name: string): string | undefined;
  flag(name: string): boolean;
  /** The person a command acts for: `--user ID` on `--platform` (default `cli`). */
  identity(): PlatformIdentity;
  runtime(needs: RuntimeNeeds): Promise<Runtime>;
}

export function createCliContext(input: {
  positionals: readonly string[];
  values: Readonly<Record<string, string | boolean | undefined>>;
  openRuntime: (needs: RuntimeNeeds) => Promise<Runtime>;
}): CliContext & { close(): Promise<void> } {
  let opened: Promise<Runtime> | undefined;
  const option = (name: string): string | undefined => {
    const value = input.values[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    positionals: input.positionals,
    json: input.values['json'] === true,
    option,
    flag: (name) => input.values[name] === true,
    identity() {
      const user = option('user');
      if (!user) throw new UsageError('this command needs --user ID');
      return { platform: option('platform') ?? 'cli', platformUserId: user };
    },
    runtime(needs) {
      opened ??= input.openRuntime(needs);
      return opened;
    },
    async close() {
      if (opened) await (await opened.catch(() => undefined))?.close();
    },
  };
}
