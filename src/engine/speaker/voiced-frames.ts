/** Frames more than this far below the loudest are pauses and breath, not voice. */
const ENERGY_RANGE_DB = 35;
const ABSOLUTE_FLOOR_DB = -75;

/** The frames a speaker model judges: those within 35 dB of the loudest and above −75 dB. */
export function voicedFrames(energyDb: Float64Array): number[] {
  let loudest = -Infinity;
  for (const e of energyDb) loudest = Math.max(loudest, e);
  const floor = Math.max(loudest - ENERGY_RANGE_DB, ABSOLUTE_FLOOR_DB);
  const kept: number[] = [];
  for (let f = 0; f < energyDb.length; f++) if (energyDb[f]! > floor) kept.push(f);
  return kept;
}
