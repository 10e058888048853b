/** Running t2s_encoder.onnx: prompt + text phones, BERT features and SSL features → x, prompts. */
import ort from 'onnxruntime-node';
import type { Session } from './onnx-session.ts';
import type { EncoderInputs } from './semantic-decoder.ts';

const i64 = (values: readonly number[]): ort.Tensor =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    [1, values.length],
  );

export async function runEncoder(encoder: Session, inputs: EncoderInputs): Promise<{ x: ort.Tensor; prompts: ort.Tensor }> {
  const out = await encoder.run({
    ref_seq: i64(inputs.refIds),
    text_seq: i64(inputs.textIds),
    ref_bert: new ort.Tensor('float32', inputs.refBert, [inputs.refIds.length, 1024]),
    text_bert: new ort.Tensor('float32', inputs.textBert, [inputs.textIds.length, 1024]),
    ssl_content: new ort.Tensor('float32', inputs.ssl, [1, 768, inputs.sslFrames]),
  });
  return { x: need(out, 'x'), prompts: need(out, 'prompts') };
}

export function need(outputs: ort.InferenceSession.OnnxValueMapType, name: string): ort.Tensor {
  const value = outputs[name];
  if (!value) throw new Error(`graph output "${name}" is missing; run \`vocalis models check\``);
  return value as ort.Tensor;
}
