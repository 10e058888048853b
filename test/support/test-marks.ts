import { deriveMarkKey } from '../../src/engine/watermark/mark-key.ts';
import type { UtteranceMarks } from '../../src/engine/watermark/utterance-marks.ts';
import { MasterKey } from '../../src/storage/master-key.ts';

/** Marks under a fixed test master key, with tokens counted up in memory (no database). */
export function testMarks(seed = 7): UtteranceMarks & { readonly issued: Array<{ userId: string; voiceId: string; token: number }> } {
  const master = new MasterKey(new Uint8Array(32).fill(seed));
  const key = deriveMarkKey((label) => master.hmac(label));
  const issued: Array<{ userId: string; voiceId: string; token: number }> = [];
  return {
    key,
    issued,
    issue(u) {
      const token = 0x5eed0000 + issued.length;
      issued.push({ ...u, token });
      return { keyId: key.keyId, token };
    },
  };
}
