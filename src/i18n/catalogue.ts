import type { CatalogueShape, MessageKey } from './catalogue-shape.ts';
import type { Locale } from './locale.ts';
import { en } from './messages-en.ts';
import { zh } from './messages-zh.ts';

export type { Locale } from './locale.ts';
export { localeFrom } from './locale.ts';
export type { MessageKey } from './catalogue-shape.ts';

/** Placeholder names of a template string, e.g. 'a {x} b {y}' → 'x' | 'y'. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** Params a key needs, derived from its English template. */
export type MessageParams<K extends MessageKey> = { readonly [P in Placeholders<(typeof en)[K]>]: string | number };

const catalogues: Readonly<Record<Locale, CatalogueShape>> = { en, zh };

/** Keys whose template has no placeholder may omit params. */
type ParamsArg<K extends MessageKey> = [Placeholders<(typeof en)[K]>] extends [never] ? [params?: MessageParams<K>] : [params: MessageParams<K>];

export function t<K extends MessageKey>(locale: Locale, key: K, ...args: ParamsArg<K>): string {
  const template = catalogues[locale][key];
  const params: Readonly<Record<string, string | number>> = args[0] ?? {};
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
