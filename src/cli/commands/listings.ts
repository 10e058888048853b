import type { CliContext } from '../cli-context.ts';
import { ok, type CommandResult } from '../cli-io.ts';

/** `vocalis voices` */
export async function voicesCommand(ctx: CliContext): Promise<CommandResult> {
  const runtime = await ctx.runtime({ queue: false });
  const voices = runtime.voices.list().map((voice) => {
    const user = runtime.users.get(voice.userId);
    return { ...voice, owner: user ? `${user.platform}:${user.platformUserId}` : null };
  });
  const lines = voices.map((v) => `${v.id}  ${v.owner ?? '?'}  ${v.state}  v${v.currentVersion ?? '-'}  ${v.backend}`);
  return ok({ voices }, voices.length ? lines.join('\n') : 'No voices.');
}

/** `vocalis jobs` */
export async function jobsCommand(ctx: CliContext): Promise<CommandResult> {
  const runtime = await ctx.runtime({ queue: false });
  const jobs = runtime.jobs.list({ limit: 50 });
  const lines = jobs.map(
    (j) =>
      `${j.id}  ${j.voiceId}  ${j.state}${j.progress ? ` ${Math.round(j.progress.fraction * 100)}% ${j.progress.stage}` : ''}  ${j.createdAt}${j.errorCode ? `  ${j.errorCode}` : ''}`,
  );
  return ok({ jobs }, jobs.length ? lines.join('\n') : 'No jobs.');
}
