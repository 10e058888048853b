import type { Vocalis } from '../../core/vocalis.ts';
import type { Locale } from '../../i18n/catalogue.ts';
import { isFinished, jobMessage, queuedMessage } from '../../i18n/clone-messages.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Outbox } from './outbox.ts';
import { StatusMessage } from './status-message.ts';

export interface FollowRequest {
  readonly chatId: number;
  readonly replyTo?: number;
  readonly locale: Locale;
  readonly jobId: string;
  readonly position: number | null;
  readonly etaSeconds: number | null;
  /** A preview voice already speaks while the fine-tune runs. */
  readonly previewReady: boolean;
}

/**
 * Reports a fine-tune in one message: "queued" is sent once, then progress and the
 * outcome arrive as edits of that message, so a chat sees one line that updates
 * rather than a stream of messages (and the send queue is spared).
 */
export class CloneFollower {
  readonly #vocalis: Vocalis;
  readonly #outbox: Outbox;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #active = new Map<string, { stop: () => void; done: Promise<void> }>();

  constructor(deps: { vocalis: Vocalis; outbox: Outbox; logger: Logger; intervalMs?: number }) {
    this.#vocalis = deps.vocalis;
    this.#outbox = deps.outbox;
    this.#logger = deps.logger;
    this.#intervalMs = deps.intervalMs ?? 1000;
  }

  get following(): number {
    return this.#active.size;
  }

  /** Starts following in the background; failures to send are logged, never thrown into the handler. */
  follow(request: FollowRequest): void {
    if (this.#active.has(request.jobId)) return;
    let stopWatch: () => void = () => {};
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const entry = {
      stop: () => {
        stopWatch();
        finish();
      },
      done,
    };
    this.#active.set(request.jobId, entry);
    void done.then(() => this.#active.delete(request.jobId));

    const first = queuedMessage(request.locale, request, request.previewReady);
    this.#outbox
      .sendText(request.chatId, first, request.replyTo === undefined ? {} : { replyTo: request.replyTo })
      .then((message) => {
        const status = new StatusMessage(this.#outbox, request.chatId, message.message_id, first, this.#logger);
        stopWatch = this.#vocalis.watchJob(
          request.jobId,
          (job) => {
            status.show(jobMessage(request.locale, job, request.previewReady));
            if (isFinished(job)) void status.settled().then(() => entry.stop());
          },
          this.#intervalMs,
        );
      })
      .catch((error: unknown) => {
        this.#logger.warn(
          { chatId: request.chatId, jobId: request.jobId, errorName: error instanceof Error ? error.name : 'unknown' },
          'clone status message failed',
        );
        entry.stop();
      });
  }

  /** Stops every watcher (the adapter is stopping); messages already queued still go out. */
  stopAll(): void {
    for (const entry of this.#active.values()) entry.stop();
  }

  /** Resolves when every followed job has reached its end (or been stopped). For tests and shutdown. */
  async idle(): Promise<void> {
    await Promise.all([...this.#active.values()].map((e) => e.done));
  }
}
