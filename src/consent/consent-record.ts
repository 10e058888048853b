import type { ConsentLanguage } from './consent-texts.ts';
import type { ConsentState } from './consent-state.ts';
import type { VerificationMode } from './verification/verification-record.ts';

/** Who may make a voice speak. Default: only its owner. */
export type SpeakerPolicy =
  | { readonly mode: 'owner' }
  | { readonly mode: 'listed'; readonly platformUserIds: readonly string[] }
  | { readonly mode: 'context' };

/** Where a consent applies: one platform and one guild/chat (`*` = everywhere on that platform). */
export interface ConsentScope {
  readonly platform: string;
  readonly context: string;
  readonly speakers: SpeakerPolicy;
}

export interface ConsentRecord {
  readonly id: string;
  readonly userId: string;
  readonly state: ConsentState;
  readonly textId: string;
  readonly textSha256: string;
  readonly language: ConsentLanguage;
  readonly scope: ConsentScope;
  readonly challenge: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly offerExpiresAt: string;
  readonly grantedAt: string | null;
  readonly voiceReadyAt: string | null;
  readonly lastUsedAt: string | null;
  readonly banked: boolean;
  readonly keepRaw: boolean;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

/** What the user keeps as proof of what they agreed to. */
export interface ConsentReceipt {
  readonly consentId: string;
  readonly textId: string;
  readonly textSha256: string;
  readonly grantedAt: string;
  readonly scope: ConsentScope;
  /** Whether the reading and every clip are verified (`off` only when the operator turned it off). */
  readonly verification: VerificationMode;
}

export function receiptOf(consent: ConsentRecord, verification: VerificationMode): ConsentReceipt {
  if (!consent.grantedAt) throw new Error('consent was never granted');
  return { consentId: consent.id, textId: consent.textId, textSha256: consent.textSha256, grantedAt: consent.grantedAt, scope: consent.scope, verification };
}
