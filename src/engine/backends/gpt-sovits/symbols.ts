/**
 * The GPT-SoVITS v2 symbol table, derived from upstream's published list
 * (GPT_SoVITS/text/symbols2.py): the sorted set of pad, Chinese initials and toned finals,
 * Japanese, punctuation and ARPAbet symbols (322), then "[" and "]", then the sorted Korean
 * jamo (ids up to 352). Upstream appends 379 Cantonese symbols after these (732 in all);
 * Vocalis produces no Cantonese, so those ids are never emitted and are not listed here.
 */

const INITIALS = 'AA EE OO b c ch d f g h j k l m n p q r s sh t w x y z zh'.split(' ');
const FINALS = 'E En a ai an ang ao e ei en eng er i i0 ia ian iang iao ie in ing iong ir iu o ong ou u ua uai uan uang ui un uo v van ve vn'.split(' ');
const JAPANESE = 'I N U a b by ch cl d dy e f g gy h hy i j k ky m my n ny o p py r ry s sh t ts u v w y z'.split(' ');
export const PUNCTUATION = ['!', '?', '…', ',', '.', '-'] as const;
const PUNCTUATION_SYMBOLS = [...PUNCTUATION, 'SP', 'SP2', 'SP3', 'UNK'];
export const ARPABET = new Set(
  (
    'AH0 S AH1 EY2 AE2 EH0 OW2 UH0 NG B G AY0 M AA0 F AO0 ER2 UH1 IY1 AH2 DH IY0 EY1 IH0 K N W IY2 T AA1 ER1 EH2 OY0 UH2 UW1 ' +
    'Z AW2 AW1 V UW2 AA2 ER AW0 UW0 R OW1 EH1 ZH AE0 IH2 IH Y JH P AY1 EY0 OY2 TH HH D ER0 CH AO1 AE1 AO2 OY1 AY2 IH1 OW0 L SH'
  ).split(' '),
);
const KOREAN = [...'ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㄲㄸㅃㅆㅉㅏㅓㅗㅜㅡㅣㅐㅔ空停'];

const toned = [1, 2, 3, 4, 5].flatMap((tone) => FINALS.map((f) => `${f}${tone}`));
// Python's sorted() on str compares code points, as the comparison below does.
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const base = [...new Set(['_', ...INITIALS, ...toned, ...JAPANESE, ...PUNCTUATION_SYMBOLS, ...ARPABET])].sort(byCodePoint);

export const SYMBOLS: readonly string[] = [...base, '[', ']', ...[...KOREAN].sort(byCodePoint)];
/** Size of the v2 text embedding (including the Cantonese symbols we never emit). */
export const SYMBOL_VOCABULARY_SIZE = 732;

const ids = new Map(SYMBOLS.map((s, i) => [s, i]));

export function isSymbol(symbol: string): boolean {
  return ids.has(symbol);
}

/** Symbol ids for phones; an unknown phone is a programming error in the front end. */
export function symbolIds(phones: readonly string[]): number[] {
  return phones.map((p) => {
    const id = ids.get(p);
    if (id === undefined) throw new Error(`phone "${p}" is not a GPT-SoVITS v2 symbol`);
    return id;
  });
}
