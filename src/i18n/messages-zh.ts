import type { CatalogueShape } from './catalogue-shape.ts';
import { core } from './zh/core.ts';
import { discord } from './zh/discord.ts';
import { mark } from './zh/mark.ts';
import { sample } from './zh/sample.ts';
import { telegram } from './zh/telegram.ts';

/** Simplified Chinese catalogue; must cover every English key (checked by the type). */
export const zh: CatalogueShape = { ...sample, ...core, ...discord, ...telegram, ...mark };
