/**
 * Chinese BERT features (chinese-roberta-wwm-ext-large, layer −3, 1024-d) when `bert.onnx` and
 * `bert-vocab.txt` are in the models directory; zeros otherwise, and always for non-Chinese
 * phones, as upstream. Tokens are single characters (how that model tokenises Chinese); each
 * character's vector is repeated for the phones it produced (upstream's word2ph).
 */
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import type { PhoneUnit } from './text/front-end.ts';
import type { Session } from './onnx-session.ts';

export const BERT_DIM = 1024;

export class BertFeatures {
  readonly #session: Session;
  readonly #vocab: Map<string, number>;

  private constructor(session: Session, vocab: Map<string, number>) {
    this.#session = session;
    this.#vocab = vocab;
  }

  static async load(session: Session, vocabPath: string): Promise<BertFeatures> {
    const lines = (await readFile(vocabPath, 'utf8')).split('\n').map((l) => l.trim());
    return new BertFeatures(session, new Map(lines.map((t, i) => [t, i])));
  }

  async features(units: readonly PhoneUnit[], phoneCount: number): Promise<Float32Array> {
    const out = new Float32Array(phoneCount * BERT_DIM);
    const chars = units.filter((u) => u.char !== null);
    if (chars.length === 0) return out;
    const id = (t: string): number => this.#vocab.get(t) ?? this.#vocab.get('[UNK]') ?? 100;
    const tokens = [id('[CLS]'), ...chars.map((u) => id(u.char ?? '')), id('[SEP]')];
    const shape = [1, tokens.length];
    const result = await this.#session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), shape),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(tokens.length).fill(1n), shape),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(tokens.length), shape),
    });
    const hidden = result['hidden_states']?.data as Float32Array | undefined;
    if (!hidden) throw new Error('bert.onnx has no "hidden_states" output; run `vocalis models check`');
    let phone = 0;
    let token = 1; // skip [CLS]
    for (const unit of units) {
      if (unit.char !== null) {
        const row = hidden.subarray(token * BERT_DIM, (token + 1) * BERT_DIM);
        for (let p = 0; p < unit.phoneCount; p++) out.set(row, (phone + p) * BERT_DIM);
        token++;
      }
      phone += unit.phoneCount;
    }
    return out;
  }
}
