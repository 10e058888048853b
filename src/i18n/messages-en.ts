import { core } from './en/core.ts';
import { discord } from './en/discord.ts';
import { mark } from './en/mark.ts';
import { sample } from './en/sample.ts';
import { telegram } from './en/telegram.ts';

/**
 * English catalogue: the source of truth for keys and their parameters.
 * `{name}` placeholders are filled by t(); each key's params are typed in catalogue.ts.
 * One file per area, so adapters add their own keys without touching each other's.
 */
export const en = { ...sample, ...core, ...discord, ...telegram, ...mark } as const;
