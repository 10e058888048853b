import type { CliContext } from '../cli-context.ts';
import { etaMinutes } from '../../i18n/clone-messages.ts';
import { ok, ProgressBar, refused, type CommandResult } from '../cli-io.ts';

const POLL_MS = 250;

/** `vocalis clone --user ID [--backend NAME] [--wait]` */
export async function cloneCommand(ctx: CliContext): Promise<CommandResult> {
  const identity = ctx.identity();
  const wait = ctx.flag('wait');
  const runtime = await ctx.runtime({ queue: true, worker: wait });
  const started = await runtime.vocalis.startClone({ identity, backend: ctx.option('backend') });
  if (!wait) {
    const eta = started.etaSeconds === null ? '' : `, ready in about ${etaMinutes(started.etaSeconds)} min`;
    return ok(
      started,
      `Fine-tune ${started.jobId} queued for voice ${started.voiceId}${started.position ? ` (position ${started.position}${eta})` : eta ? ` (${eta.slice(2)})` : ''}.`,
    );
  }
  // Progress comes from the job history, so this works whether the job runs here or in the service's worker.
  const bar = new ProgressBar(!ctx.json);
  for (;;) {
    const job = runtime.jobs.get(started.jobId);
    if (job?.progress) bar.update(job.progress.fraction, job.progress.stage);
    if (job && (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled')) {
      bar.done();
      if (job.state === 'completed') {
        const figures = Object.entries(job.result ?? {})
          .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
          .join(', ');
        return ok({ ...started, job }, `Voice ${started.voiceId} is ready${figures ? ` (${figures})` : ''}.`);
      }
      return refused({ ...started, job }, `Fine-tune ${job.state}: ${job.error ?? job.errorCode ?? 'no reason given'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
