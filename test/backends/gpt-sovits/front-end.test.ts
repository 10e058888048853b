import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { BackendError } from '../../../src/engine/backend.ts';
import { SYMBOLS, symbolIds } from '../../../src/engine/backends/gpt-sovits/symbols.ts';
import { chinesePhones } from '../../../src/engine/backends/gpt-sovits/text/chinese-g2p.ts';
import { englishPhones, wordToPhones } from '../../../src/engine/backends/gpt-sovits/text/english-g2p.ts';
import { promptToSegment, segmentTexts, textToSegments } from '../../../src/engine/backends/gpt-sovits/text/front-end.ts';
import { normalizeEnglish } from '../../../src/engine/backends/gpt-sovits/text/normalize-en.ts';
import { chineseCardinal, normalizeChinese } from '../../../src/engine/backends/gpt-sovits/text/normalize-zh.ts';
import { splitSyllable } from '../../../src/engine/backends/gpt-sovits/text/pinyin-symbols.ts';
import { cut5, splitSegments } from '../../../src/engine/backends/gpt-sovits/text/segment.ts';

const zh = (text: string): string => chinesePhones(normalizeChinese(text)).phones.join(' ');
const en = (text: string): string => englishPhones(normalizeEnglish(text)).join(' ');

describe('symbol table (symbols2.py)', () => {
  it('has upstream v1 base size 322, then [ ] and 29 Korean symbols', () => {
    assert.equal(SYMBOLS.indexOf('['), 322);
    assert.equal(SYMBOLS.indexOf(']'), 323);
    assert.equal(SYMBOLS.length, 353);
  });
  it('orders by code point: punctuation, then upper case, _, lower case, …', () => {
    // '!' 0x21, ',' 0x2C, '-' 0x2D, '.' 0x2E, '?' 0x3F come first; then AA, AA0, AA1, AA2.
    assert.deepEqual(SYMBOLS.slice(0, 9), ['!', ',', '-', '.', '?', 'AA', 'AA0', 'AA1', 'AA2']);
    assert.equal(SYMBOLS[321], '…');
    assert.ok(SYMBOLS.indexOf('_') > SYMBOLS.indexOf('ZH') && SYMBOLS.indexOf('_') < SYMBOLS.indexOf('a'));
    assert.deepEqual(symbolIds(['!', 'AA']), [0, 5]);
  });
  it('rejects phones outside the table', () => {
    assert.throws(() => symbolIds(['xyz']), /not a GPT-SoVITS v2 symbol/);
  });
});

describe('pinyin → initials and finals (opencpop-strict rules)', () => {
  const cases: [string, string, string][] = [
    ['a', 'AA', 'a'],
    ['er', 'EE', 'er'],
    ['ou', 'OO', 'ou'],
    ['yan', 'y', 'En'],
    ['ye', 'y', 'E'],
    ['yu', 'y', 'v'],
    ['yuan', 'y', 'van'],
    ['ju', 'j', 'v'],
    ['xue', 'x', 've'],
    ['qun', 'q', 'vn'],
    ['lv', 'l', 'v'],
    ['zhi', 'zh', 'ir'],
    ['ri', 'r', 'ir'],
    ['si', 's', 'i0'],
    ['wu', 'w', 'u'],
    ['yi', 'y', 'i'],
    ['dui', 'd', 'ui'],
    ['zhuang', 'zh', 'uang'],
  ];
  for (const [syllable, initial, final] of cases) {
    it(`${syllable} → ${initial} ${final}`, () => assert.deepEqual(splitSyllable(syllable), [initial, final]));
  }
});

describe('Chinese G2P', () => {
  it('third-tone sandhi across a short word: 你好 → ni2 hao3', () => assert.equal(zh('你好'), 'n i2 h ao3'));
  it('three thirds: 展览馆 → zhan2 lan2 guan3', () => assert.equal(zh('展览馆'), 'zh an2 l an2 g uan3'));
  it('一 and 不 sandhi', () => {
    assert.equal(zh('一个'), 'y i2 g e4');
    assert.equal(zh('不要'), 'b u2 y ao4');
  });
  it('polyphones by word: 银行 hang2, 行走 xing2', () => {
    assert.equal(zh('银行'), 'y in2 h ang2');
    assert.equal(zh('行走'), 'x ing2 z ou3');
  });
  it('neutral tone is 5, ü is v', () => assert.equal(zh('女儿的'), 'n v3 EE er2 d e5'));
  it('punctuation becomes the model marks', () => assert.equal(zh('是吗？对！'), 'sh ir4 m a5 ? d ui4 !'));
  it('Latin words inside Chinese use English phones, "," before a chunk under 4 phones (cleaner.py)', () => {
    assert.equal(zh('OK吗'), ', OW1 K EY1 m a5');
    assert.equal(zh('我爱hello啊'), 'w o3 AA ai4 HH AH0 L OW1 AA a5');
  });
  it('numbers, dates and money', () => {
    assert.equal(chineseCardinal('10005'), '一万零五');
    assert.equal(chineseCardinal('15'), '十五');
    assert.equal(normalizeChinese('2024年3月15日'), '二零二四年三月十五日');
    assert.equal(normalizeChinese('¥12.5'), '十二点五元');
    assert.equal(normalizeChinese('50%'), '百分之五十');
    assert.equal(normalizeChinese('13812345678'), '一三八一二三四五六七八');
  });
});

describe('English G2P', () => {
  it('CMU dictionary words with punctuation', () => assert.equal(en('Hello, world.'), 'HH AH0 L OW1 , W ER1 L D .'));
  it('plural of a known stem the dictionary lacks', () => {
    assert.equal(wordToPhones('podcasts').join(' '), `${wordToPhones('podcast').join(' ')} S`);
    assert.equal(wordToPhones('hashtags').join(' '), `${wordToPhones('hashtag').join(' ')} Z`);
  });
  it('fallback for unknown words gives ARPAbet only', () => {
    const phones = wordToPhones('zorblaxian');
    assert.ok(phones.length > 3);
    assert.doesNotThrow(() => symbolIds(phones));
  });
  it('acronyms are spelled', () => assert.equal(wordToPhones('XQZ').join(' '), 'EH1 K S K Y UW1 Z IY1'));
  it('a capital "A" alone is the letter name, "a" the article (upstream english.py)', () => assert.equal(en('A cat, a dog.'), 'EY1 K AE1 T , AH0 D AO1 G .'));
  it('numbers, money, dates, ordinals, percentages', () => {
    assert.equal(normalizeEnglish('$5.20'), 'five dollars and twenty cents');
    assert.equal(normalizeEnglish('2024-03-15'), 'March fifteenth, twenty twenty four');
    assert.equal(normalizeEnglish('the 21st'), 'the twenty first');
    assert.equal(normalizeEnglish('50%'), 'fifty percent');
    assert.equal(normalizeEnglish('3.14'), 'three point one four');
    assert.equal(normalizeEnglish('1,234,567'), 'one million two hundred thirty four thousand five hundred sixty seven');
    // As upstream: 1001–2999 read like years, a hyphen between digits is dropped.
    assert.equal(normalizeEnglish('In 1999 and 2024, not 3000'), 'In nineteen ninety nine and twenty twenty four, not three thousand');
    assert.equal(normalizeEnglish('555-1234'), 'five hundred fifty five twelve thirty four');
  });
});

describe('cut5 segmentation and the front end', () => {
  it('cuts at every punctuation mark but not inside decimals', () => {
    assert.deepEqual(cut5('你好，世界。pi is 3.14, ok!'), ['你好，', '世界。', 'pi is 3.14,', 'ok!']);
  });
  it('merges pieces shorter than 5 characters', () => {
    assert.deepEqual(splitSegments('Hi, yes. This is a longer sentence.'), ['Hi, yes.', 'This is a longer sentence.']);
    assert.deepEqual(splitSegments('你好，是的。今天天气很好。'), ['你好， 是的。', '今天天气很好。']);
  });
  it('segments carry symbol ids', () => {
    const [segment] = textToSegments('Hello there, friend.', 'en-US');
    assert.ok(segment);
    assert.deepEqual(segment.ids, symbolIds(segment.phones));
  });
  it('rejects emoji-only text and other scripts clearly', () => {
    assert.throws(
      () => textToSegments('😀🎉👍', 'en'),
      (e: unknown) => e instanceof BackendError && e.code === 'unspeakable_text',
    );
    assert.throws(
      () => textToSegments('привет мир', 'en'),
      (e: unknown) => e instanceof BackendError && e.code === 'unspeakable_text',
    );
    assert.throws(
      () => textToSegments('bonjour', 'fr'),
      (e: unknown) => e instanceof BackendError && e.code === 'unsupported_language',
    );
  });
  it('splits 5,000 characters into bounded segments', () => {
    const text = 'This sentence repeats to make a long text without end '.repeat(93).slice(0, 5000);
    const segments = textToSegments(text, 'en');
    assert.ok(segments.length > 20);
    for (const s of segments) assert.ok(s.phones.length < 400);
  });
});

/** Worked examples from upstream's TextPreprocessor.preprocess(text, lang, "cut5") (UPSTREAM-GPT-SOVITS.md). */
describe('punctuation as upstream adds it', () => {
  const ids = (text: string, lang: string): number[][] => textToSegments(text, lang).map((s) => [...s.ids]);
  it('"你好，世界。" is one segment ending in "."', () => {
    assert.deepEqual(ids('你好，世界。', 'zh'), [[227, 167, 158, 119, 1, 251, 214, 221, 194, 3]]);
  });
  it('"Hello, world." is two segments, each under 6 phones and so prefixed with "."', () => {
    assert.deepEqual(ids('Hello, world.', 'en'), [
      [3, 51, 12, 62, 68, 1],
      [3, 91, 39, 62, 26, 3],
    ]);
  });
  it('"今天天气很好" (no final punctuation) gets "。": ends with id 3', () => {
    const [segment] = textToSegments('今天天气很好', 'zh');
    assert.equal(segment?.ids[segment.ids.length - 1], 3);
    assert.equal(segment?.phones.length, 13);
  });
  it('a short first sentence gets a leading mark, a short segment a leading "."', () => {
    assert.deepEqual(segmentTexts('你好', 'zh'), ['你好。']);
    assert.deepEqual(
      textToSegments('你好', 'zh').map((s) => s.phones.join(' ')),
      ['. n i2 h ao3 .'],
    );
    assert.deepEqual(segmentTexts('Hi there', 'en'), ['Hi there.']);
  });
  it('English under 4 phones gets ","; then "." below 6 phones', () => {
    // "Hi." → [HH AY1 .] → ", HH AY1 ." (4) → below 6: ".Hi." → ". HH AY1 ." (4 phones, no comma).
    assert.deepEqual(
      textToSegments('Hi.', 'en').map((s) => s.phones.join(' ')),
      ['. HH AY1 .'],
    );
    assert.equal(en('Hi.'), 'HH AY1 .');
  });
  it('the prompt text gets its final punctuation too', () => {
    assert.equal(promptToSegment('今天天气很好', 'zh')?.phones.at(-1), '.');
    assert.equal(promptToSegment('   ', 'en'), null);
  });
});
