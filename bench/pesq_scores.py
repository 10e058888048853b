"""PESQ (ITU-T P.862.2, wideband) for the watermark bench's audibility figures (benchmark only).

Reads lines "REFERENCE.wav<TAB>DEGRADED.wav" on stdin (16 kHz mono); prints one JSON
object {"scores": [MOS-LQO per line]} on stdout. Run with the interpreter of a virtual
environment that has `pesq` and `soundfile` (bench/watermark.bench.ts uses
/work/bench-venv, or BENCH_VENV).
"""

import json
import sys

import soundfile
from pesq import pesq


def main() -> None:
    scores = []
    for line in sys.stdin:
        if not line.strip():
            continue
        reference_path, degraded_path = line.rstrip("\n").split("\t")
        reference, rate = soundfile.read(reference_path)
        degraded, _ = soundfile.read(degraded_path)
        n = min(len(reference), len(degraded))
        scores.append(float(pesq(rate, reference[:n], degraded[:n], "wb")))
    json.dump({"scores": scores}, sys.stdout)


if __name__ == "__main__":
    main()
