/**
 * English text normalisation before G2P: currency, percentages, dates, ordinals, decimals and
 * plain numbers become words; typographic punctuation maps to the five marks the model knows.
 */
import { cardinal, ordinal, plainNumber, year } from './english-numbers.ts';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const CURRENCIES: Readonly<Record<string, readonly [string, string, string, string]>> = {
  $: ['dollar', 'dollars', 'cent', 'cents'],
  '€': ['euro', 'euros', 'cent', 'cents'],
  '£': ['pound', 'pounds', 'penny', 'pence'],
  '¥': ['yen', 'yen', 'sen', 'sen'],
};

const plural = (n: string, one: string, many: string): string => `${cardinal(n)} ${Number(n) === 1 ? one : many}`;

function money(symbol: string, whole: string, cents: string | undefined): string {
  const names = CURRENCIES[symbol];
  if (!names) return `${whole}`;
  const w = whole.replace(/,/g, '');
  const main = plural(w, names[0], names[1]);
  if (!cents || Number(cents) === 0) return main;
  const c = cents.padEnd(2, '0').slice(0, 2);
  return `${main} and ${plural(c, names[2], names[3])}`;
}

function decimal(whole: string, fraction: string): string {
  return `${cardinal(whole)} point ${[...fraction].map((d) => cardinal(d)).join(' ')}`;
}

export function normalizeEnglish(text: string): string {
  return text
    .replace(/[“”"]/g, '')
    .replace(/[‘’`]/g, "'")
    .replace(/[;:：；—–]/g, ',')
    .replace(/。/g, '.')
    .replace(/！/g, '!')
    .replace(/？/g, '?')
    .replace(/，/g, ',')
    .replace(/\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g, (m, y: string, mo: string, d: string) => {
      const month = MONTHS[Number(mo) - 1];
      return month && Number(d) >= 1 && Number(d) <= 31 ? `${month} ${ordinal(d)}, ${year(y)}` : m;
    })
    .replace(/([$€£¥])\s?(\d[\d,]*)(?:\.(\d+))?/g, (_m, s: string, w: string, c: string | undefined) => money(s, w, c))
    .replace(/(\d+(?:\.\d+)?)\s?%/g, (_m, n: string) => `${n} percent`)
    .replace(/\b(\d+)(st|nd|rd|th)\b/gi, (_m, n: string) => ordinal(n))
    .replace(/\b(1[1-9]\d\d|20\d\d)s\b/g, (_m, y: string) => `${year(y).replace(/y$/, 'ie')}s`)
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replace(/(\d+)\.(\d+)/g, (_m, w: string, f: string) => decimal(w, f))
    .replace(/(\d)-(?=\d)/g, '$1 ')
    .replace(/\d+/g, (n) => plainNumber(n))
    .replace(/&/g, ' and ')
    .replace(/\s+/g, ' ')
    .trim();
}
