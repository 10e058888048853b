"""Exports Resemblyzer's GE2E speaker encoder to ONNX, for the consent bench only.

    python bench/export_resemblyzer_onnx.py OUT.onnx

The weights ship inside the `resemblyzer` package (a virtual environment such as
/work/bench-venv); exporting needs `torch` and `onnx`. The graph takes what the encoder
takes: 40-bin power mel frames [1, frames, 40] (VOCALIS_SPEAKER_ONNX_FEATURES=mel40), best
in windows of 160 frames (VOCALIS_SPEAKER_ONNX_WINDOW_FRAMES=160), and gives the unit-length
256-d embedding. Then:

    npm run bench -- consent --speaker-only --speaker-onnx OUT.onnx \\
        --speaker-onnx-features mel40 --speaker-onnx-window 160

The exported file is a derivative of Resemblyzer's weights: keep it out of the repository.
"""

import sys
import warnings

warnings.filterwarnings("ignore")

import torch  # noqa: E402
from resemblyzer import VoiceEncoder  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    encoder = VoiceEncoder("cpu", verbose=False).eval()
    example = torch.rand(1, 160, 40)
    torch.onnx.export(
        encoder,
        (example,),
        sys.argv[1],
        input_names=["feats"],
        output_names=["embs"],
        dynamic_axes={"feats": {1: "frames"}},
        opset_version=17,
        dynamo=False,
    )


if __name__ == "__main__":
    main()
