/** English number words: cardinals, ordinals and years, for the text normaliser. */
const ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: readonly [bigint, string][] = [
  [10n ** 12n, 'trillion'],
  [10n ** 9n, 'billion'],
  [10n ** 6n, 'million'],
  [1000n, 'thousand'],
];

function below1000(n: number): string {
  const words: string[] = [];
  if (n >= 100) {
    words.push(`${ONES[Math.floor(n / 100)]} hundred`);
    n %= 100;
    if (n === 0) return words.join(' ');
  }
  if (n < 20) words.push(ONES[n] ?? '');
  // No hyphen ("thirty four"): upstream's normaliser leaves none, and ours would become a "-" phone.
  else words.push(n % 10 === 0 ? (TENS[n / 10] ?? '') : `${TENS[Math.floor(n / 10)]} ${ONES[n % 10]}`);
  return words.join(' ');
}

/** Cardinal words for a non-negative integer given as digits; over 15 digits reads digit by digit. */
export function cardinal(digits: string): string {
  const clean = digits.replace(/^0+(?=\d)/, '');
  if (clean.length > 15) return [...clean].map((d) => ONES[Number(d)]).join(' ');
  let n = BigInt(clean);
  if (n === 0n) return 'zero';
  const words: string[] = [];
  for (const [scale, name] of SCALES) {
    if (n >= scale) {
      words.push(`${below1000(Number(n / scale))} ${name}`);
      n %= scale;
    }
  }
  if (n > 0n) words.push(below1000(Number(n)));
  return words.join(' ');
}

const IRREGULAR_ORDINALS: Readonly<Record<string, string>> = {
  one: 'first',
  two: 'second',
  three: 'third',
  five: 'fifth',
  eight: 'eighth',
  nine: 'ninth',
  twelve: 'twelfth',
};

export function ordinal(digits: string): string {
  const words = cardinal(digits);
  const match = /([a-z]+)$/.exec(words);
  if (!match?.[1]) return words;
  const last = match[1];
  const replaced = IRREGULAR_ORDINALS[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return words.slice(0, words.length - last.length) + replaced;
}

/** Years read in pairs ("nineteen ninety nine", "twenty twenty four"), 2000–2009 as cardinals. */
export function year(digits: string): string {
  const n = Number(digits);
  if (digits.length !== 4 || (n >= 2000 && n < 2010) || n % 1000 === 0) return cardinal(digits);
  const high = Math.floor(n / 100);
  const low = n % 100;
  if (low === 0) return `${below1000(high)} hundred`;
  return `${below1000(high)} ${low < 10 ? `oh ${ONES[low]}` : below1000(low)}`;
}

/** A plain number as upstream's English normaliser reads it: 1001–2999 like a year, others as cardinals. */
export function plainNumber(digits: string): string {
  const n = Number(digits);
  return digits.length === 4 && n > 1000 && n < 3000 ? year(digits) : cardinal(digits);
}
