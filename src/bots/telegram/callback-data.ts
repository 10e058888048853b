/**
 * Inline-button payloads. Telegram allows 1–64 bytes of callback_data, so a button
 * carries only an action letter and the consent id (`c:a:<id>` agree, `c:x:<id>` cancel).
 */
export type ConsentAction = 'agree' | 'cancel';

const MAX_CALLBACK_BYTES = 64;
const CODES: Readonly<Record<ConsentAction, string>> = { agree: 'a', cancel: 'x' };

export const CONSENT_CALLBACK = /^c:([ax]):([A-Za-z0-9_]{1,58})$/;

export function consentCallback(action: ConsentAction, consentId: string): string {
  const data = `c:${CODES[action]}:${consentId}`;
  if (!CONSENT_CALLBACK.test(data) || Buffer.byteLength(data) > MAX_CALLBACK_BYTES) {
    throw new RangeError('consent id does not fit in callback data');
  }
  return data;
}

export function parseConsentCallback(data: string): { action: ConsentAction; consentId: string } | null {
  const match = CONSENT_CALLBACK.exec(data);
  if (!match?.[2]) return null;
  return { action: match[1] === 'a' ? 'agree' : 'cancel', consentId: match[2] };
}
