import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { challengeWords } from '../../src/consent/challenge.ts';
import { readingScript, statementParts } from '../../src/consent/reading-script.ts';
import { judgeReading } from '../../src/consent/verification/reading-policy.ts';
import { decodeAudio, decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { EspeakAcousticMatcher } from '../../src/engine/recognition/espeak-acoustic-matcher.ts';
import { SphinxRecognizer, spokenWords } from '../../src/engine/recognition/sphinx-recognizer.ts';
import { sharedFile, speakerFiles } from '../support/speech-data.ts';
import { lavfiWav } from '../support/spoken-audio.ts';

const sphinx = new SphinxRecognizer();

function prompt(file: string): string {
  const line = readFileSync(sharedFile('allison-prompts/transcripts.tsv'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${file}\t`));
  if (!line) throw new Error(`no transcript for ${file}`);
  return line.split('\t')[1]!;
}

const accepted = async (audio: Parameters<SphinxRecognizer['recognise']>[0], text: string) => {
  const heard = await sphinx.recognise(audio, spokenWords(text));
  return { judgement: judgeReading(heard.words, []), heard };
};

test('real speech: a person reading known text is heard, with word times; the same reading against another text, another speaker and noise are not', async () => {
  const allison = await decodeAudioFile(sharedFile('allison-prompts/conf-getconfno.wav'), { sampleRate: 16_000 });
  const right = await accepted(allison, prompt('conf-getconfno.wav'));
  assert.equal(right.judgement.accepted, true, `coverage ${right.judgement.coverage}`);
  assert.equal(right.heard.level, 'recognised');
  const times = right.heard.words.filter((w) => w.heard);
  assert.ok(
    times.every((w, i) => w.end! > w.start! && (i === 0 || w.start! >= times[i - 1]!.start!)),
    'words heard in order, each with a time span',
  );

  const wrong = await accepted(allison, prompt('vm-passchanged.wav'));
  assert.equal(wrong.judgement.accepted, false, `another text: coverage ${wrong.judgement.coverage}`);

  const someoneElse = await decodeAudioFile(speakerFiles('2033')[0]!, { sampleRate: 16_000 });
  assert.equal((await accepted(someoneElse, prompt('conf-getconfno.wav'))).judgement.accepted, false);

  const noise = await decodeAudio(lavfiWav('anoisesrc=color=pink:amplitude=0.3', 5), { sampleRate: 16_000 });
  assert.equal((await accepted(noise, prompt('conf-getconfno.wav'))).judgement.accepted, false);
});

test('Mandarin: the acoustic check hears the rendered statement and phrase, and names the words of another phrase as not heard', async () => {
  const matcher = new EspeakAcousticMatcher();
  const live = '熊猫，钢琴，瀑布，饺子';
  const stale = '月亮，火车，剪刀，企鹅';
  const parts = statementParts('zh', live);
  const reading = async (challenge: string) =>
    decodeAudio(new Uint8Array(execFileSync('espeak-ng', ['-v', 'cmn', '--stdout', readingScript('zh', challenge).sentences[0]!])), { sampleRate: 48_000 });
  const decoys = challengeWords('zh')
    .filter((w) => !live.includes(w) && !stale.includes(w))
    .slice(0, 6);

  const good = await matcher.recognise(await reading(live), [...parts.statement, ...parts.challenge], { decoys });
  assert.equal(good.level, 'acoustic');
  assert.equal(judgeReading(good.words.slice(0, 1), good.words.slice(1)).accepted, true, JSON.stringify(good.words));

  const bad = await matcher.recognise(await reading(stale), [...parts.statement, ...parts.challenge], { decoys });
  const judgement = judgeReading(bad.words.slice(0, 1), bad.words.slice(1));
  assert.equal(judgement.accepted, false);
  assert.ok(judgement.missing.length >= 2, `the live phrase's words are missing: ${judgement.missing.join('、')}`);
});
