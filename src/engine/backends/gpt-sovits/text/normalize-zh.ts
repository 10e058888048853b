/**
 * Chinese text normalisation before G2P: dates, currency, percentages, decimals and integers
 * become characters; long digit strings (phone numbers, codes) are read digit by digit; full-width
 * and ASCII punctuation map to the marks the model knows.
 */
const DIGITS = '零一二三四五六七八九';
const SMALL_UNITS = ['', '十', '百', '千'];
const BIG_UNITS = ['', '万', '亿', '万亿'];

function digitsRead(s: string): string {
  return [...s].map((d) => DIGITS[Number(d)] ?? d).join('');
}

function below10000(n: number): string {
  let out = '';
  let zero = false;
  for (let i = 3; i >= 0; i--) {
    const d = Math.floor(n / 10 ** i) % 10;
    if (d === 0) {
      if (out) zero = true;
      continue;
    }
    if (zero) out += '零';
    zero = false;
    out += (DIGITS[d] ?? '') + (SMALL_UNITS[i] ?? '');
  }
  return out;
}

/** Chinese cardinal for an integer given as digits; over 16 digits reads digit by digit. */
export function chineseCardinal(digits: string): string {
  const clean = digits.replace(/^0+(?=\d)/, '');
  if (clean.length > 16) return digitsRead(clean);
  if (/^0+$/.test(clean)) return '零';
  const groups: number[] = [];
  for (let end = clean.length; end > 0; end -= 4) groups.unshift(Number(clean.slice(Math.max(0, end - 4), end)));
  let out = '';
  let pendingZero = false;
  groups.forEach((g, i) => {
    const unit = BIG_UNITS[groups.length - 1 - i] ?? '';
    if (g === 0) {
      pendingZero = out !== '';
      return;
    }
    if (out && (pendingZero || g < 1000)) out += '零';
    pendingZero = false;
    out += below10000(g) + unit;
  });
  // 一十 at the start is said 十 (十五, not 一十五).
  return out.replace(/^一十/, '十');
}

function decimal(whole: string, fraction: string): string {
  return `${chineseCardinal(whole)}点${digitsRead(fraction)}`;
}

export function normalizeChinese(text: string): string {
  return text
    .replace(
      /(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?/g,
      (_m, y: string, mo: string, d: string) => `${digitsRead(y)}年${chineseCardinal(mo)}月${chineseCardinal(d)}日`,
    )
    .replace(/(\d{4})年/g, (_m, y: string) => `${digitsRead(y)}年`)
    .replace(/[¥￥]\s?(\d+)(?:\.(\d+))?/g, (_m, w: string, f: string | undefined) => (f ? `${decimal(w, f)}元` : `${chineseCardinal(w)}元`))
    .replace(/\$\s?(\d+)(?:\.(\d+))?/g, (_m, w: string, f: string | undefined) => (f ? `${decimal(w, f)}美元` : `${chineseCardinal(w)}美元`))
    .replace(/(\d+(?:\.\d+)?)\s?%/g, (_m, n: string) => `百分之${n}`)
    .replace(/\d{7,}/g, (n) => digitsRead(n))
    .replace(/(\d+)\.(\d+)/g, (_m, w: string, f: string) => decimal(w, f))
    .replace(/\d+/g, (n) => chineseCardinal(n))
    .replace(/[，、；：]/g, ',')
    .replace(/[。]/g, '.')
    .replace(/[！]/g, '!')
    .replace(/[？]/g, '?')
    .replace(/[；;:]/g, ',')
    .replace(/[“”‘’"'（）()《》【】[\]]/g, '')
    .replace(/[—～~]/g, '-')
    .replace(/\s+/g, '');
}
