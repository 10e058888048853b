import type { Logger } from '../../observability/logger.ts';
import type { Outbox } from './outbox.ts';

/**
 * One bot message whose text follows a changing state. Edits are coalesced: while
 * one edit waits for the chat's turn in the send queue, newer texts replace the
 * pending one, so a fast job never queues a backlog of stale progress edits.
 */
export class StatusMessage {
  readonly #outbox: Outbox;
  readonly #chatId: number;
  readonly #messageId: number;
  readonly #logger: Logger;
  #shown: string;
  #wanted: string;
  #flushing: Promise<void> | null = null;

  constructor(outbox: Outbox, chatId: number, messageId: number, initialText: string, logger: Logger) {
    this.#outbox = outbox;
    this.#chatId = chatId;
    this.#messageId = messageId;
    this.#logger = logger;
    this.#shown = initialText;
    this.#wanted = initialText;
  }

  get messageId(): number {
    return this.#messageId;
  }

  show(text: string): void {
    this.#wanted = text;
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = null;
    });
  }

  /** Resolves once the newest wanted text is on screen (or failed to get there). */
  async settled(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#wanted !== this.#shown) {
      const text = this.#wanted;
      try {
        await this.#outbox.editText(this.#chatId, this.#messageId, text);
      } catch (error) {
        this.#logger.warn(
          { chatId: this.#chatId, messageId: this.#messageId, errorName: error instanceof Error ? error.name : 'unknown' },
          'status edit failed',
        );
      }
      this.#shown = text;
    }
  }
}
