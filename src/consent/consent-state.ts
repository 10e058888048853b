import { ConsentError } from './consent-errors.ts';

/**
 * The life of one consent, as an explicit state machine. `revoked`, `expired`
 * and `declined` are terminal: a new consent starts from `offered` again.
 */
export type ConsentState = 'offered' | 'granted' | 'sample_collected' | 'voice_ready' | 'declined' | 'revoked' | 'expired';

export const LIVE_STATES: readonly ConsentState[] = ['offered', 'granted', 'sample_collected', 'voice_ready'];

const TRANSITIONS: Readonly<Record<ConsentState, readonly ConsentState[]>> = {
  offered: ['granted', 'declined', 'expired', 'revoked'],
  granted: ['sample_collected', 'revoked', 'expired'],
  // Back to granted when the collected sample is discarded (e.g. raw audio retention).
  sample_collected: ['voice_ready', 'granted', 'revoked', 'expired'],
  voice_ready: ['revoked', 'expired'],
  declined: [],
  revoked: [],
  expired: [],
};

export function canTransition(from: ConsentState, to: ConsentState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isLive(state: ConsentState): boolean {
  return LIVE_STATES.includes(state);
}

export function isConsentState(value: string): value is ConsentState {
  return value in TRANSITIONS;
}

/** A bug, not a refusal: the code path asked for a move the state machine forbids. */
export class ConsentTransitionError extends ConsentError {
  constructor(from: ConsentState, to: ConsentState) {
    super('invalid_consent_transition', `consent cannot go from ${from} to ${to}`);
    this.name = 'ConsentTransitionError';
  }
}

export function assertTransition(from: ConsentState, to: ConsentState): void {
  if (!canTransition(from, to)) throw new ConsentTransitionError(from, to);
}
