import type { Locale } from '../../i18n/catalogue.ts';
import { isFinished, jobMessage } from '../../i18n/clone-messages.ts';
import type { JobRecord } from '../../storage/job-history.ts';
import type { Logger } from '../../observability/logger.ts';
import type { LastingReply } from './lasting-reply.ts';
import type { DiscordVocalis } from './vocalis-port.ts';

/**
 * Follows a fine-tune: progress edits the member's /clone message; the end ("your voice
 * is ready" or why it failed) is shown there too and told to the member (a DM, else an
 * ephemeral follow-up, else the channel). Training can outlast the interaction's 15-minute
 * token: the LastingReply then carries on in a DM or the channel.
 */
export class JobNotifier {
  readonly #vocalis: DiscordVocalis;
  readonly #logger: Logger;
  readonly #watches = new Set<() => void>();
  readonly #intervalMs: number | undefined;

  constructor(vocalis: DiscordVocalis, logger: Logger, intervalMs?: number) {
    this.#vocalis = vocalis;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  follow(input: { jobId: string; userId: string; locale: Locale; reply: LastingReply }): void {
    const { locale, reply } = input;
    let stop: () => void = () => {};
    const onUpdate = (job: JobRecord): void => {
      if (job.state === 'active' && job.progress) {
        void reply.edit({ content: jobMessage(locale, job, false), embeds: [], components: [] });
        return;
      }
      if (isFinished(job)) {
        stop();
        this.#watches.delete(stop);
        // Why it failed is the catalogue's message for the job's code, as Telegram says it.
        const message = jobMessage(locale, job, false);
        void reply.edit({ content: message, embeds: [], components: [] });
        void reply.tell(message);
        this.#logger.info({ jobId: input.jobId, userId: input.userId, state: job.state, place: reply.place }, 'fine-tune finished, user told');
      }
    };
    stop = this.#vocalis.watchJob(input.jobId, onUpdate, this.#intervalMs);
    this.#watches.add(stop);
  }

  close(): void {
    for (const stop of this.#watches) stop();
    this.#watches.clear();
  }
}
