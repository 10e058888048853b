import type { Logger } from '../observability/logger.ts';

/** Something long-running that can be stopped, and can say what is still open while it stops. */
export interface Stoppable {
  stop(): Promise<void>;
  stillOpen(): readonly string[];
}

export interface ShutdownPolicy {
  /** After the first stop signal the process exits by then, whatever is still open. */
  readonly deadlineMs: number;
  /**
   * Signals within this time of the first are the same request arriving twice: a
   * terminal's Ctrl-C or a supervisor signals the whole process group, and the
   * bootstrap forwards what it received on top. Only a later signal forces the exit.
   */
  readonly duplicateWindowMs?: number;
}

const DEFAULT_DUPLICATE_WINDOW_MS = 1000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

type Lifecycle =
  | { readonly status: 'starting'; readonly stopRequestedAt: number | null }
  | { readonly status: 'running'; readonly service: Stoppable }
  | { readonly status: 'stopping'; readonly service: Stoppable; readonly since: number };

/**
 * Starts something long-running and stops it cleanly on SIGINT/SIGTERM: one graceful
 * stop however many copies of the signal arrive, bounded by a hard deadline that logs
 * what was still open. Signals are handled from the first moment, so one that arrives
 * while starting stops the service as soon as it is up instead of killing the process
 * with its parts (the embedded Redis) half started.
 */
export async function runUntilSignal(logger: Logger, start: () => Promise<Stoppable>, policy: ShutdownPolicy): Promise<void> {
  const duplicateWindowMs = policy.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  let state: Lifecycle = { status: 'starting', stopRequestedAt: null };

  const armDeadline = () => {
    const timer = setTimeout(() => {
      const stillOpen = state.status === 'stopping' ? state.service.stillOpen() : ['start-up'];
      logger.error({ deadlineMs: policy.deadlineMs, stillOpen }, 'shutdown deadline passed: exiting with parts still open');
      process.exit(1);
    }, policy.deadlineMs);
    timer.unref();
  };

  const stop = (service: Stoppable, since: number) => {
    state = { status: 'stopping', service, since };
    service.stop().then(
      () => {
        logger.info({ ms: Date.now() - since }, 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    switch (state.status) {
      case 'starting':
        if (state.stopRequestedAt !== null) return;
        logger.info({ signal }, 'stop requested while starting: stopping as soon as started');
        state = { status: 'starting', stopRequestedAt: now };
        armDeadline();
        return;
      case 'running':
        logger.info({ signal }, 'stopping');
        armDeadline();
        stop(state.service, now);
        return;
      case 'stopping':
        if (now - state.since < duplicateWindowMs) {
          logger.debug({ signal }, 'the same stop request again: already stopping');
          return;
        }
        logger.warn({ signal, stillOpen: state.service.stillOpen() }, 'second signal: exiting now');
        process.exit(130);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  let service: Stoppable;
  try {
    service = await start();
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
  if (state.status === 'starting' && state.stopRequestedAt !== null) stop(service, state.stopRequestedAt);
  else state = { status: 'running', service };
}
