import type { Client } from 'discord.js';
import { t, type Locale } from '../../i18n/catalogue.ts';
import type { Logger } from '../../observability/logger.ts';
import type { DiscordVocalis } from './vocalis-port.ts';

/** Edits the ephemeral message the clone flow lives in (valid for 15 minutes). */
export type EditReply = (content: string) => Promise<unknown>;

/**
 * Follows a fine-tune: progress edits the user's ephemeral /clone message; the end
 * ("your voice is ready" or why it failed) goes to the user as a DM, or as an
 * ephemeral follow-up when their DMs are closed.
 */
export class JobNotifier {
  readonly #vocalis: DiscordVocalis;
  readonly #client: Client;
  readonly #logger: Logger;
  readonly #watches = new Set<() => void>();
  readonly #intervalMs: number | undefined;

  constructor(vocalis: DiscordVocalis, client: Client, logger: Logger, intervalMs?: number) {
    this.#vocalis = vocalis;
    this.#client = client;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  follow(input: { jobId: string; userId: string; locale: Locale; edit: EditReply; followUp: EditReply }): void {
    const { locale } = input;
    let stop: () => void = () => {};
    const onUpdate = (job: { state: string; progress: { stage: string; fraction: number } | null; errorCode: string | null }): void => {
      if (job.state === 'active' && job.progress) {
        void input.edit(t(locale, 'clone.progress', { stage: job.progress.stage, percent: Math.round(job.progress.fraction * 100) })).catch(() => undefined);
        return;
      }
      if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') {
        stop();
        this.#watches.delete(stop);
        const message = job.state === 'completed' ? t(locale, 'clone.ready') : t(locale, 'clone.failed', { reason: job.errorCode ?? job.state });
        void input.edit(message).catch(() => undefined);
        void this.#tell(input.userId, message, input.followUp);
        this.#logger.info({ jobId: input.jobId, userId: input.userId, state: job.state }, 'fine-tune finished, user told');
      }
    };
    stop = this.#vocalis.watchJob(input.jobId, onUpdate, this.#intervalMs);
    this.#watches.add(stop);
  }

  async #tell(userId: string, content: string, followUp: EditReply): Promise<void> {
    try {
      const user = await this.#client.users.fetch(userId);
      await user.send({ content });
    } catch {
      await followUp(content).catch(() => undefined);
    }
  }

  close(): void {
    for (const stop of this.#watches) stop();
    this.#watches.clear();
  }
}
