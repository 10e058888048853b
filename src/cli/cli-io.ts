/** What a command returns: data for `--json`, lines for people, and the exit code. */
export interface CommandResult {
  readonly exitCode: number;
  readonly json: unknown;
  readonly text: string;
}

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The request was understood and refused (no consent, bad audio, tampered ledger…). */
  refused: 1,
  usage: 2,
  /** Something broke that is not the caller's fault (Redis down, disk full…). */
  failure: 3,
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function ok(json: unknown, text: string): CommandResult {
  return { exitCode: EXIT.ok, json, text };
}

export function refused(json: unknown, text: string): CommandResult {
  return { exitCode: EXIT.refused, json, text };
}

/** A one-line progress bar on stderr for people; silent with --json or when stderr is not a terminal. */
export class ProgressBar {
  readonly #enabled: boolean;
  #last = '';

  constructor(enabled: boolean) {
    this.#enabled = enabled && process.stderr.isTTY === true;
  }

  update(fraction: number, label: string): void {
    if (!this.#enabled) return;
    const width = 30;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${label}`;
    if (line === this.#last) return;
    this.#last = line;
    process.stderr.write(`\r${line.padEnd(70)}`);
  }

  done(): void {
    if (this.#enabled && this.#last) process.stderr.write('\n');
  }
}
