/**
 * Teacher-forced logits through Vocalis's own TypeScript decoder (KvStepper over t2s_decoder.onnx,
 * the code the backend runs), for parity.py --ts-probe. Input JSON: { models, x: number[N][512],
 * prompts: number[], forced: number[] }; prints { logits: number[steps][1025] } (the prompt
 * pass, then one step per forced token).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { KvStepper } from '../../src/engine/backends/gpt-sovits/kv-decoder.ts';
import { sessionFromFile } from '../../src/engine/backends/gpt-sovits/onnx-session.ts';

interface ProbeInput {
  readonly models: string;
  readonly x: number[][];
  readonly prompts: number[];
  readonly forced: number[];
}

const input = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ProbeInput;
const decoder = await sessionFromFile(join(input.models, 't2s_decoder.onnx'), 'cpu');
const width = input.x[0]?.length ?? 0;
const x = new ort.Tensor('float32', Float32Array.from(input.x.flat()), [1, input.x.length, width]);
const stepper = new KvStepper(decoder);
const logits: number[][] = [Array.from(await stepper.prefill(x, BigInt64Array.from(input.prompts, BigInt)))];
for (const token of input.forced) logits.push(Array.from(await stepper.step(token)));
stepper.dispose();
await decoder.release();
process.stdout.write(JSON.stringify({ logits }));
