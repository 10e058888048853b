import type { JobRecord } from '../storage/job-history.ts';
import { t, type Locale } from './catalogue.ts';
import { renderErrorCode } from './error-messages.ts';

/**
 * What both bots say about a fine-tune — queued (with its ETA), progress, ready, failed —
 * written once so Discord and Telegram cannot drift apart.
 */

/** The core's ETA in whole minutes, never "0 min" (the CLI shows the same figure). */
export function etaMinutes(etaSeconds: number): number {
  return Math.max(1, Math.ceil(etaSeconds / 60));
}

/** "Your voice is being trained (queue position 2). Expected to be ready in about 4 min." */
export function queuedMessage(locale: Locale, clone: { readonly position: number | null; readonly etaSeconds: number | null }, previewReady = false): string {
  return (
    t(locale, 'clone.queued', { position: clone.position ?? 1 }) +
    (clone.etaSeconds === null ? '' : ` ${t(locale, 'clone.eta', { minutes: etaMinutes(clone.etaSeconds) })}`) +
    (previewReady ? `\n${t(locale, 'clone.preview_ready')}` : '')
  );
}

/** A job's state as one line; a failure's reason is the catalogue's message for its code. */
export function jobMessage(locale: Locale, job: Pick<JobRecord, 'state' | 'progress' | 'errorCode'>, previewReady: boolean): string {
  switch (job.state) {
    case 'completed':
      return t(locale, 'clone.ready');
    case 'failed':
    case 'cancelled':
      // The reason is a whole sentence; the template adds its own full stop.
      return t(locale, 'clone.failed', { reason: renderErrorCode(locale, job.errorCode ?? 'generic').replace(/[.。]$/u, '') });
    case 'active':
      if (job.progress) return t(locale, 'clone.progress', { stage: job.progress.stage, percent: Math.round(job.progress.fraction * 100) });
      return t(locale, 'clone.progress', { stage: '', percent: 0 });
    default:
      return queuedMessage(locale, { position: 1, etaSeconds: null }, previewReady);
  }
}

/** Whether a job has reached its last state. */
export function isFinished(job: Pick<JobRecord, 'state'>): boolean {
  return job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled';
}
