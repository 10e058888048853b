import { test } from 'vitest';
import assert from 'node:assert/strict';
import { BackendError } from '../../../src/engine/backend.ts';
import { endsSentence, MAX_TEXT_CHARS, resolveLanguage, splitClauses } from '../../../src/engine/backends/classic/text.ts';

test('splits at sentence and clause punctuation, merging fragments too short to say alone', () => {
  const clauses = splitClauses('Hello there, my friend. Yes! This is a longer clause, and here is another part of it.', 'en');
  assert.deepEqual(clauses, ['Hello there, my friend.', 'Yes! This is a longer clause,', 'and here is another part of it.']);
});

test('keeps the first clause short so the first audio comes out quickly', () => {
  const clauses = splitClauses('The quick brown fox jumps over the lazy dog near the old river bank today.', 'en');
  assert.ok(clauses.length >= 2);
  assert.ok(clauses[0]!.split(' ').length <= 8);
  assert.equal(clauses.join(' '), 'The quick brown fox jumps over the lazy dog near the old river bank today.');
});

test('a single word is spoken; empty text is refused', () => {
  assert.deepEqual(splitClauses('  Hello  ', 'en'), ['Hello']);
  for (const empty of ['', '   ', '...', '\u0000\u200b']) {
    assert.throws(
      () => splitClauses(empty, 'en'),
      (err: unknown) => err instanceof BackendError && err.code === 'empty_text',
    );
  }
});

test('5,000 characters split into bounded clauses; beyond the limit is refused clearly', () => {
  const long = 'This sentence is part of a very long text that keeps going on and on without any commas at all for a while. '.repeat(46).slice(0, 5000);
  const clauses = splitClauses(long, 'en');
  assert.ok(clauses.length > 40);
  assert.ok(clauses.every((c) => c.split(' ').length <= 20));
  assert.throws(
    () => splitClauses('a'.repeat(MAX_TEXT_CHARS + 1), 'en'),
    (err: unknown) => err instanceof BackendError && err.code === 'text_too_long' && /10000/.test(err.message),
  );
});

test('Chinese splits on its own punctuation', () => {
  const clauses = splitClauses('今天天气很好，我们一起去公园散步吧。春天来了。', 'zh');
  // NFKC folds the full-width comma to ASCII; flite and espeak-ng read both alike.
  assert.deepEqual(clauses, ['今天天气很好,', '我们一起去公园散步吧。', '春天来了。']);
});

test('languages resolve by primary subtag; others are refused naming the supported ones', () => {
  assert.equal(resolveLanguage('en-GB', ['en', 'zh']), 'en');
  assert.equal(resolveLanguage('zh-CN', ['en', 'zh']), 'zh');
  assert.equal(resolveLanguage('cmn', ['en', 'zh']), 'zh');
  assert.throws(
    () => resolveLanguage('fr', ['en', 'zh']),
    (err: unknown) => err instanceof BackendError && err.code === 'unsupported_language' && /supported: en, zh/.test(err.message),
  );
});

test('a clause that ends a sentence is told from one that does not (the voice pauses after sentences)', () => {
  for (const clause of ['The birch canoe slid on the smooth planks.', 'Is it easy?', 'He said "go!"', '今天天气很好。'])
    assert.equal(endsSentence(clause), true, clause);
  for (const clause of ['The juice of lemons makes fine punch,', 'and then', 'one: two', '今天天气很好，']) assert.equal(endsSentence(clause), false, clause);
});
