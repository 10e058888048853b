import type { Logger } from '../observability/logger.ts';

/** One named part that has to be closed on shutdown. */
interface Step {
  readonly name: string;
  readonly close: () => Promise<void> | void;
  /** Finer names for a part that is itself made of parts (the runtime inside the service). */
  readonly parts?: () => readonly string[];
  status: 'pending' | 'closing' | 'closed';
}

/**
 * Closes a process' parts one after another, in a fixed order, and can say at any
 * moment which parts are still open: the shutdown deadline names them in the log.
 * A part that throws is logged and the sequence goes on, so the parts after it (the
 * embedded Redis, last) are still closed.
 */
export class ShutdownSequence {
  private readonly steps: Step[] = [];
  private running: Promise<void> | undefined;
  private readonly logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.logger = logger;
  }

  /** Closed before everything added so far (later parts depend on earlier ones, so they go first). */
  first(name: string, close: () => Promise<void> | void, parts?: () => readonly string[]): void {
    this.steps.unshift({ name, close, status: 'pending', ...(parts ? { parts } : {}) });
  }

  /** Closed after everything added so far. */
  last(name: string, close: () => Promise<void> | void, parts?: () => readonly string[]): void {
    this.steps.push({ name, close, status: 'pending', ...(parts ? { parts } : {}) });
  }

  /** Runs once; later calls wait for the same run. */
  run(): Promise<void> {
    this.running ??= this.closeAll();
    return this.running;
  }

  /** Names of the parts not closed yet, in the order they will be closed. */
  stillOpen(): string[] {
    return this.steps.flatMap((step) => {
      if (step.status === 'closed') return [];
      const parts = step.status === 'closing' ? step.parts?.() : undefined;
      return parts && parts.length > 0 ? parts.map((part) => `${step.name}: ${part}`) : [step.name];
    });
  }

  private async closeAll(): Promise<void> {
    for (const step of this.steps) {
      step.status = 'closing';
      try {
        await step.close();
      } catch (error) {
        this.logger?.warn({ err: error, part: step.name }, 'error while shutting down');
      }
      step.status = 'closed';
    }
  }
}
