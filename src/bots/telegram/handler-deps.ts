import type { RateLimiter } from '../../core/rate-limiter.ts';
import type { Vocalis } from '../../core/vocalis.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ClipWork } from './clip-work.ts';
import type { CloneFollower } from './clone-status.ts';
import type { InFlight } from './in-flight.ts';
import type { Outbox } from './outbox.ts';
import type { SpeechFirst } from './speech-first.ts';

/** What every handler module is built from; the adapter creates one set per bot. */
export interface HandlerDeps {
  readonly vocalis: Vocalis;
  readonly outbox: Outbox;
  readonly logger: Logger;
  /** Telegram user ids allowed to /revoke anywhere (the service operators). */
  readonly operatorIds: ReadonlySet<string>;
  readonly speakLimiter: RateLimiter;
  readonly clones: CloneFollower;
  /** Clip processing, outside the chat lanes: one user's clips in order, a bounded number at once. */
  readonly clipWork: ClipWork;
  /** /speak syntheses running; clip processing waits for them. */
  readonly speechFirst: SpeechFirst;
  /** Handler runs detached from the update loop, awaited on stop. */
  readonly inFlight: InFlight;
  /** Largest file the Bot API lets a bot download (getFile). */
  readonly maxDownloadBytes: number;
}
