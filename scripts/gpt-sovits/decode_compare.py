#!/usr/bin/env python3
"""Per-token cost of one decode step: Vocalis's t2s_decoder.onnx vs upstream-style t2s_sdec.onnx.

    <python> scripts/gpt-sovits/decode_compare.py --kv DIR --legacy DIR [--prompt 150] [--repeats 4]

Both graphs get a cache of the same number of positions (prompt + text + 100/500/1000 generated
tokens, random contents: only time is measured) and run one step each, alternately, so a shared
and busy machine slows both alike; ONNX Runtime CPU, one intra-op thread each (as the backend).
The bench (`npm run bench -- gpt-sovits --models DIR --legacy-models DIR`) measures whole loops
through our TypeScript code, but one after the other: on a busy machine its ratios drift.
"""
import argparse
import time

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kv", required=True, help="directory with t2s_decoder.onnx")
    p.add_argument("--legacy", required=True, help="directory with t2s_sdec.onnx")
    p.add_argument("--prompt", type=int, default=150, help="positions before the first generated token")
    p.add_argument("--repeats", type=int, default=4)
    a = p.parse_args()
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    kv = ort.InferenceSession(f"{a.kv}/t2s_decoder.onnx", o, providers=["CPUExecutionProvider"])
    sd = ort.InferenceSession(f"{a.legacy}/t2s_sdec.onnx", o, providers=["CPUExecutionProvider"])
    layers = sum(1 for i in kv.get_inputs() if i.name.startswith("k_cache_"))
    rng = np.random.default_rng(0)
    for generated in (100, 500, 1000):
        n = a.prompt + generated
        kvf = {"x": np.zeros((1, 0, 512), np.float32), "y": np.array([[5]], np.int64), "y_start": np.array([n], np.int64), "attn_bias": np.zeros((1, n + 1), np.float32)}
        for l in range(layers):
            kvf[f"k_cache_{l}"] = rng.random((n, 512), dtype=np.float32) * 0.1
            kvf[f"v_cache_{l}"] = rng.random((n, 512), dtype=np.float32) * 0.1
        sdf = {
            "iy": rng.integers(0, 1000, (1, generated + 50)).astype(np.int64),
            "ik": rng.random((layers, n, 1, 512), dtype=np.float32) * 0.1,
            "iv": rng.random((layers, n, 1, 512), dtype=np.float32) * 0.1,
            "iy_emb": rng.random((1, generated + 50, 512), dtype=np.float32),
            "ix_example": np.zeros((1, n - generated - 50), np.float32),
        }
        kv.run(None, kvf)
        sd.run(None, sdf)
        tk = ts = 0.0
        for _ in range(a.repeats):
            t = time.perf_counter()
            kv.run(None, kvf)
            tk += time.perf_counter() - t
            t = time.perf_counter()
            sd.run(None, sdf)
            ts += time.perf_counter() - t
        tk, ts = tk / a.repeats * 1000, ts / a.repeats * 1000
        print(f"{generated:5d} tokens ({n} positions): Vocalis {tk:7.0f} ms  upstream-style {ts:7.0f} ms  ×{ts / tk:.1f}", flush=True)


if __name__ == "__main__":
    main()
