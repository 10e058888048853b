import { readFile, stat } from 'node:fs/promises';
import type { CliContext } from '../cli-context.ts';
import { ok, refused, UsageError, type CommandResult } from '../cli-io.ts';
import type { ClipVerdict } from '../../core/sample-intake.ts';
import { problemLines, renderProgress } from '../../i18n/sample-messages.ts';

/** Largest file the CLI reads into memory; decoding applies its own limits after this. */
const MAX_FILE_BYTES = 200 * 1024 * 1024;

/** `vocalis sample add --user ID FILE...` */
export async function sampleCommand(ctx: CliContext, action: string | undefined): Promise<CommandResult> {
  if (action !== 'add') throw new UsageError('sample needs: add FILE...');
  const files = ctx.positionals;
  if (files.length === 0) throw new UsageError('sample add needs at least one audio file');
  const identity = ctx.identity();
  const { vocalis } = await ctx.runtime({ queue: false });
  const results: unknown[] = [];
  const lines: string[] = [];
  let anyRefused = false;
  let complete = false;
  for (const file of files) {
    const size = (await stat(file)).size;
    if (size > MAX_FILE_BYTES) {
      anyRefused = true;
      results.push({ file, kind: 'refused', code: 'too_large' });
      lines.push(`${file}: refused — the file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
      continue;
    }
    const outcome = await vocalis.addClip({ identity, audio: await readFile(file), backend: ctx.option('backend'), cloneWhenComplete: false });
    results.push({ file, ...outcome });
    anyRefused ||= outcome.kind === 'refused';
    complete ||= outcome.kind === 'stored' && outcome.complete;
    lines.push(`${file}: ${outcome.kind === 'stored' ? 'added' : 'refused'} — ${describeVerdict(outcome.verdict)}`);
  }
  if (complete) lines.push('The sample is complete. Run `vocalis clone --user ID --wait` to fine-tune the voice.');
  const json = { clips: results, complete };
  return anyRefused ? refused(json, lines.join('\n')) : ok(json, lines.join('\n'));
}

function describeVerdict(verdict: ClipVerdict): string {
  return [renderProgress('en', verdict), ...problemLines('en', verdict, false)].join(' ');
}
