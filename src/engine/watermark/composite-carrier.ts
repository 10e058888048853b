import type { MarkCarriers } from './carriers.ts';
import { PERIOD, SLOT_SAMPLES } from './mark-layout.ts';

/**
 * Share of the mark's power in the pilot; the rest carries the payload. The pilot
 * decides presence from 3 s, the payload needs about 10 s, so most power goes to data.
 */
export const PILOT_SHARE = 0.5;

/** One period of pilot + payload-signed data carrier, unit RMS. */
export function compositeCarrier(carriers: MarkCarriers, coded: Int8Array): Float32Array {
  const bitOfSlot = new Int8Array(coded.length);
  for (let i = 0; i < coded.length; i++) bitOfSlot[carriers.slotOfBit[i]!] = coded[i]!;
  const a = Math.sqrt(PILOT_SHARE);
  const b = Math.sqrt(1 - PILOT_SHARE);
  const out = new Float32Array(PERIOD);
  for (let r = 0; r < PERIOD; r++) {
    out[r] = a * carriers.pilot[r]! + b * bitOfSlot[Math.floor(r / SLOT_SAMPLES)]! * carriers.data[r]!;
  }
  return out;
}
