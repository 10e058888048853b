import type { en } from './messages-en.ts';

/** Every locale's catalogue has exactly the English keys, each a string. */
export type MessageKey = keyof typeof en;
export type CatalogueShape = { readonly [K in MessageKey]: string };
