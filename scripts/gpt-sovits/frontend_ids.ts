/**
 * Prints Vocalis's front-end output (segments, phones, symbol ids) for sentences given as a JSON
 * file `[{ "text": "...", "lang": "zh" | "en" }, ...]`; used by frontend_parity.py to compare with
 * upstream's TextPreprocessor. Run with Node 24: `node scripts/gpt-sovits/frontend_ids.ts IN.json`.
 */
import { readFileSync } from 'node:fs';
import { textToSegments } from '../../src/engine/backends/gpt-sovits/text/front-end.ts';

interface Sentence {
  readonly text: string;
  readonly lang: string;
}

const sentences = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Sentence[];
const out = sentences.map(({ text, lang }) => {
  try {
    return { segments: textToSegments(text, lang).map((s) => ({ phones: s.phones, ids: s.ids })) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
});
process.stdout.write(JSON.stringify(out));
