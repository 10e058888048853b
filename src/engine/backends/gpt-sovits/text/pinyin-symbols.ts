/**
 * Toneless pinyin syllable → GPT-SoVITS initial + final symbols. The rules reproduce upstream's
 * opencpop-strict table (GPT_SoVITS/text/opencpop-strict.txt): zero-initial a/e/o take the
 * glottal initials AA/EE/OO, y/w are initials, ü after j/q/x/y is written v, zhi/chi/shi/ri take
 * "ir" and zi/ci/si take "i0", and yan/ye use the special finals En/E.
 */
const INITIALS = ['zh', 'ch', 'sh', 'b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'r', 'z', 'c', 's', 'y', 'w'];

export function splitSyllable(syllable: string): readonly [string, string] | null {
  const s = syllable.toLowerCase().replace(/ü|u:/g, 'v');
  if (!/^[a-z]+$/.test(s)) return null;
  if (s === 'yan') return ['y', 'En'];
  if (s === 'ye') return ['y', 'E'];
  const initial = INITIALS.find((i) => s.startsWith(i) && s.length > i.length);
  if (!initial) {
    const glottal = s.startsWith('a') ? 'AA' : s.startsWith('e') ? 'EE' : s.startsWith('o') ? 'OO' : null;
    return glottal ? [glottal, s] : null;
  }
  let final = s.slice(initial.length);
  if ('jqxy'.includes(initial) && final.startsWith('u')) final = `v${final.slice(1)}`;
  if (initial === 'y' && final === 'i') final = 'i';
  if (initial === 'w' && final === 'u') final = 'u';
  if (['zh', 'ch', 'sh', 'r'].includes(initial) && final === 'i') final = 'ir';
  if (['z', 'c', 's'].includes(initial) && final === 'i') final = 'i0';
  return [initial, final];
}
