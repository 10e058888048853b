/**
 * cut5-style splitting (upstream TTS_infer_pack/text_segmentation_method.py): cut after every
 * punctuation mark except a decimal point between digits, drop pieces that are only punctuation,
 * then merge pieces shorter than `minChars` into their neighbours as upstream does (threshold 5).
 */
const CUT_MARKS = new Set([',', '.', ';', '?', '!', '、', '，', '。', '？', '！', '；', '：', ':', '…']);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

export function cut5(text: string): string[] {
  const chars = [...text.trim()];
  const pieces: string[] = [];
  let current = '';
  chars.forEach((c, i) => {
    current += c;
    const decimalPoint = c === '.' && isDigit(chars[i - 1]) && isDigit(chars[i + 1]);
    if (CUT_MARKS.has(c) && !decimalPoint) {
      pieces.push(current);
      current = '';
    }
  });
  if (current) pieces.push(current);
  return pieces.map((p) => p.trim()).filter((p) => p && ![...p].every((c) => CUT_MARKS.has(c)));
}

/** Joins pieces until each is at least `minChars` long; a short tail joins the piece before it. */
export function mergeShort(pieces: readonly string[], minChars = 5): string[] {
  const out: string[] = [];
  let pending = '';
  for (const piece of pieces) {
    pending = pending ? `${pending} ${piece}` : piece;
    if ([...pending].length >= minChars) {
      out.push(pending);
      pending = '';
    }
  }
  if (pending) {
    if (out.length > 0) out[out.length - 1] += ` ${pending}`;
    else out.push(pending);
  }
  return out;
}

/** Splits text into synthesis segments, each at most `maxChars` (long runs cut at spaces). */
export function splitSegments(text: string, maxChars = 120): string[] {
  const merged = mergeShort(cut5(text));
  return merged.flatMap((segment) => {
    const chars = [...segment];
    if (chars.length <= maxChars) return [segment];
    const parts: string[] = [];
    let rest = segment;
    while ([...rest].length > maxChars) {
      const window = [...rest].slice(0, maxChars).join('');
      const space = window.lastIndexOf(' ');
      const cut = space > maxChars / 2 ? space : window.length;
      parts.push(rest.slice(0, cut).trim());
      rest = rest.slice(cut).trim();
    }
    if (rest) parts.push(rest);
    return parts;
  });
}
