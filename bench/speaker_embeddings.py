"""Speaker embeddings for the classic bench's likeness figure (benchmark only).

Reads WAV paths, one per line, on stdin; prints one JSON object
{"model": ..., "embeddings": {path: [256 floats]}} on stdout. Uses Resemblyzer's
GE2E speaker encoder (its weights ship inside the package), an independent
neural measure: nothing in the classic backend matches what it looks at.
Run with the interpreter of a virtual environment that has `resemblyzer`
(bench/classic.bench.ts uses /work/bench-venv, or BENCH_VENV).
"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import torch  # noqa: E402
from resemblyzer import VoiceEncoder, preprocess_wav  # noqa: E402

# One thread: the bench shares a small machine, and a few utterances need no more.
torch.set_num_threads(1)


def main() -> None:
    paths = [line.strip() for line in sys.stdin if line.strip()]
    encoder = VoiceEncoder("cpu", verbose=False)
    out = {}
    for path in paths:
        wav = preprocess_wav(path)
        out[path] = [float(x) for x in encoder.embed_utterance(wav)]
    json.dump({"model": "resemblyzer GE2E (256-d)", "embeddings": out}, sys.stdout)


if __name__ == "__main__":
    main()
