import { writeFileSync } from 'node:fs';
import { randomWeights } from '../backends/gpt-sovits/fixtures/fixture-graphs.ts';
import { DataType, encodeModel, type Graph, type Node, type Tensor } from '../backends/gpt-sovits/fixtures/onnx-writer.ts';

/**
 * A small stand-in for a WeSpeaker-style speaker-embedding model, built with the ONNX
 * writer of the GPT-SoVITS fixtures: features [1, frames, bins] → a fixed random
 * projection with ReLU per frame → mean and standard deviation over the frames
 * (statistics pooling) → [1, 2·hidden]. Untrained, it still says how a voice's spectra are
 * spread, which tells some speakers apart: enough to carry the plumbing end to end on
 * real speech, not a model anyone should deploy.
 */
export function speakerEmbeddingGraph(options: { bins?: number; hidden?: number; seed?: number } = {}): Uint8Array {
  const bins = options.bins ?? 80;
  const hidden = options.hidden ?? 96;
  const nodes: Node[] = [];
  const tensor = (name: string, dims: number[], data: Float32Array): Tensor => ({ name, type: DataType.FLOAT, dims, data });
  const initializers = [
    tensor('projection', [bins, hidden], randomWeights(bins * hidden, options.seed ?? 3, 1 / Math.sqrt(bins))),
    tensor('bias', [hidden], randomWeights(hidden, (options.seed ?? 3) + 1, 0.5)),
    tensor('epsilon', [], Float32Array.of(1e-6)),
  ];
  const op = (type: string, inputs: string[], output: string, attributes?: Node['attributes']) => {
    nodes.push({ op: type, inputs, outputs: [output], ...(attributes ? { attributes } : {}) });
    return output;
  };
  const h = op('Relu', [op('Add', [op('MatMul', ['feats', 'projection'], 'projected'), 'bias'], 'biased')], 'hidden');
  const mean = op('ReduceMean', [h], 'mean', { axes: [1], keepdims: 0 });
  const meanSquare = op('ReduceMean', [op('Mul', [h, h], 'squared')], 'mean_square', { axes: [1], keepdims: 0 });
  const std = op(
    'Sqrt',
    [op('Add', [op('Relu', [op('Sub', [meanSquare, op('Mul', [mean, mean], 'mean_squared')], 'rounded_variance')], 'variance'), 'epsilon'], 'variance_floor')],
    'std',
  );
  const pooled = op('Concat', [mean, std], 'pooled', { axis: 1 });
  // Every pooled value is positive; centring each vector keeps what differs between voices from drowning in what all share.
  op('Sub', [pooled, op('ReduceMean', [pooled], 'pooled_mean', { axes: [1], keepdims: 1 })], 'embs');
  const graph: Graph = {
    name: 'speaker_embedding_stand_in',
    inputs: [{ name: 'feats', type: DataType.FLOAT, shape: [1, 'T', bins] }],
    outputs: [{ name: 'embs', type: DataType.FLOAT, shape: [1, 2 * hidden] }],
    nodes,
    initializers,
  };
  return encodeModel(graph);
}

export function writeSpeakerEmbeddingGraph(path: string, options?: Parameters<typeof speakerEmbeddingGraph>[0]): string {
  writeFileSync(path, speakerEmbeddingGraph(options));
  return path;
}
