import { readFile } from 'node:fs/promises';
import type { CliContext } from '../cli-context.ts';
import { ok, UsageError, type CommandResult } from '../cli-io.ts';
import { renderMarkCheck } from '../../i18n/mark-messages.ts';
import { localeFrom } from '../../i18n/catalogue.ts';

/** `vocalis mark check FILE [--language en|zh]`: whether this deployment made the clip, and whose voice. */
export async function markCommand(ctx: CliContext, action: string | undefined): Promise<CommandResult> {
  if (action !== 'check') throw new UsageError('mark needs: check FILE');
  const file = ctx.positionals[0];
  if (!file || ctx.positionals.length > 1) throw new UsageError('mark check needs exactly one FILE');
  let audio: Uint8Array;
  try {
    audio = new Uint8Array(await readFile(file));
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  const { vocalis } = await ctx.runtime({ queue: false });
  const check = await vocalis.checkMark(audio);
  const text = renderMarkCheck(localeFrom(ctx.option('language')), check, (owner) => `${owner.platform}:${owner.platformUserId}`);
  // Finding no mark is an answer, not a refusal: exit 0 either way, the JSON says which.
  return ok(check, text);
}
