import { z } from 'zod';
import type { PreparationTarget } from '../core/ports.ts';

/** `POST /v1/prepare`: prepare this version of the consent's voice from its sample (the preview). */
export const PREPARE_PATH = '/v1/prepare';

const id = z.string().min(1).max(200);
const schema = z.object({ userId: id, consentId: id, voiceId: id, version: z.number().int().min(0), backend: id });

export function encodePrepareRequest(target: PreparationTarget): Buffer {
  return Buffer.from(JSON.stringify(target), 'utf8');
}

/** The target, or null for a body that is not one (the node answers 400). */
export function decodePrepareRequest(bytes: Uint8Array): PreparationTarget | null {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
