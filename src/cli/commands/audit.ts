import { writeFile } from 'node:fs/promises';
import type { CliContext } from '../cli-context.ts';
import { ok, refused, UsageError, type CommandResult } from '../cli-io.ts';

/** `vocalis audit verify|export [--out FILE]` */
export async function auditCommand(ctx: CliContext, action: string | undefined): Promise<CommandResult> {
  const { ledger } = await ctx.runtime({ queue: false });
  if (action === 'verify') {
    const result = ledger.verify();
    return result.ok
      ? ok(result, `Audit ledger intact: ${result.events} event(s).`)
      : refused(result, `Audit ledger TAMPERED: ${result.reason} (first bad event #${result.firstBadSeq}).`);
  }
  if (action === 'export') {
    const events = ledger.events();
    const jsonl = events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
    const out = ctx.option('out');
    if (out) {
      await writeFile(out, jsonl);
      return ok({ out, events: events.length }, `Exported ${events.length} event(s) to ${out}.`);
    }
    return ok({ events }, jsonl.trimEnd());
  }
  throw new UsageError('audit needs: verify or export');
}
