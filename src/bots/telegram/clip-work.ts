import type { InFlight } from './in-flight.ts';
import { ConcurrencyLimit } from './concurrency-limit.ts';
import { KeyedSerial } from './keyed-serial.ts';
import type { SpeechFirst } from './speech-first.ts';

/**
 * Where voice clips are processed (download, decode, VAD, verdict, preview): outside the
 * chat's update lane. In a group the lane is the whole group, so a clip handled inside it
 * would hold up every member's /speak for seconds. One person's clips still run one at a
 * time, in order (two clips must not both complete the sample); at most `concurrency`
 * clips run at once overall, and each starts only when no /speak is being synthesised
 * (SpeechFirst), so a burst of voice notes leaves CPU for speech. Runs are tracked in
 * `inFlight`, so the adapter's stop waits for them.
 */
export class ClipWork {
  readonly #perUser = new KeyedSerial();
  readonly #limit: ConcurrencyLimit;
  readonly #inFlight: InFlight;
  readonly #speech: SpeechFirst;

  constructor(inFlight: InFlight, speech: SpeechFirst, concurrency: number) {
    this.#inFlight = inFlight;
    this.#speech = speech;
    this.#limit = new ConcurrencyLimit(concurrency);
  }

  /** Clips running or waiting for a slot (not those queued behind the same person's). */
  get busy(): number {
    return this.#limit.active + this.#limit.waiting;
  }

  /** Queues `task` behind the person's earlier clips and returns at once; `task` handles its own errors. */
  schedule(userKey: string, task: () => Promise<void>): void {
    this.#inFlight.track(
      this.#perUser.run(userKey, () =>
        this.#limit.run(async () => {
          await this.#speech.clear();
          await task();
        }),
      ),
    );
  }
}
