#!/usr/bin/env python3
"""Export one fine-tuned GPT-SoVITS v2 voice to the four ONNX graphs Vocalis loads.

Run by the Vocalis fine-tune worker with the operator's GPT-SoVITS Python and the GPT-SoVITS
checkout as working directory (GPT_SOVITS_HOME):

    <python> -s scripts/gpt-sovits/export_onnx.py --gpt X.ckpt --sovits Y.pth --out DIR [--version v2]

It writes DIR/t2s_encoder.onnx, DIR/t2s_fsdec.onnx, DIR/t2s_sdec.onnx and DIR/vits.onnx, using the
export modules that ship with GPT-SoVITS itself (GPT_SoVITS/onnx_export.py: T2SModel, VitsModel,
GptSoVits). Nothing is re-implemented here: this file only feeds upstream's exporter the
checkpoint pair, dummy inputs shaped like upstream's own example, and renames the outputs.

Requirements (all part of a working GPT-SoVITS v2 installation, none installed by Vocalis):
  - Python 3.9-3.11, torch and torchaudio (the versions GPT-SoVITS's requirements.txt pins),
    the `onnx` package (torch.onnx.export needs it), numpy, soundfile, transformers;
  - GPT_SoVITS/pretrained_models/chinese-hubert-base (onnx_export.py loads it at import);
  - a v1/v2 checkpoint pair (v3/v4/v2Pro are not supported by upstream's exporter).
CPU is enough; a GPU is not needed for export.

STATUS: this script has NOT been run against a real GPT-SoVITS checkout while it was written
(no GPU, no weights, no PyTorch on the build machine). CI runs a stand-in that writes fixture
graphs. The worker checks every export with `models check` and a smoke synthesis before it
publishes anything, so a mismatch fails the job instead of publishing a broken voice.
"""
import argparse
import os
import shutil
import sys
import tempfile

GRAPHS = ("t2s_encoder", "t2s_fsdec", "t2s_sdec", "vits")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpt", required=True, help="s1 checkpoint (.ckpt) from GPT_weights*/")
    parser.add_argument("--sovits", required=True, help="s2 weights (.pth) from SoVITS_weights*/")
    parser.add_argument("--out", required=True, help="directory for the four .onnx files")
    parser.add_argument("--version", default="v2", choices=["v1", "v2"])
    args = parser.parse_args()

    gpt_path = os.path.abspath(args.gpt)
    sovits_path = os.path.abspath(args.sovits)
    out_dir = os.path.abspath(args.out)
    home = os.getcwd()
    # Upstream's modules import each other as top-level packages from GPT_SoVITS/.
    sys.path.insert(0, os.path.join(home, "GPT_SoVITS"))
    sys.path.insert(0, home)

    import torch  # noqa: E402  (after sys.path)
    import onnx_export as ox  # upstream GPT_SoVITS/onnx_export.py; loads chinese-hubert-base

    vits = ox.VitsModel(sovits_path)
    gpt = ox.T2SModel(gpt_path, vits)
    gpt_sovits = ox.GptSoVits(vits, gpt)
    ssl = ox.SSLModel()

    # Dummy inputs with the shapes of upstream's own example (phones from its symbol table).
    ref_phones = ["n", "i2", "h", "ao3", ",", "w", "o3", "sh", "i4", "b", "ai2", "y", "e4"]
    text_phones = ["w", "o3", "sh", "i4", "b", "ai2", "y", "e4"] * 3
    ref_seq = torch.LongTensor([ox.cleaned_text_to_sequence(ref_phones, version=args.version)])
    text_seq = torch.LongTensor([ox.cleaned_text_to_sequence(text_phones, version=args.version)])
    ref_bert = torch.randn((ref_seq.shape[1], 1024)).float()
    text_bert = torch.randn((text_seq.shape[1], 1024)).float()
    ref_audio = torch.randn((1, 48000 * 5)).float()
    ref_audio_16k = ox.torchaudio.functional.resample(ref_audio, 48000, 16000).float()
    ref_audio_sr = ox.torchaudio.functional.resample(ref_audio, 48000, vits.hps.data.sampling_rate).float()
    ssl_content = ssl(ref_audio_16k).float()

    os.makedirs(out_dir, exist_ok=True)
    # Upstream writes to onnx/<project>/ relative to the working directory: give it a private one.
    work = tempfile.mkdtemp(prefix="export-", dir=out_dir)
    try:
        os.chdir(work)
        os.makedirs(os.path.join("onnx", "voice"), exist_ok=True)
        with torch.no_grad():
            gpt_sovits.export(ref_seq, text_seq, ref_bert, text_bert, ref_audio_sr, ssl_content, "voice")
        for name in GRAPHS:
            src = os.path.join(work, "onnx", "voice", f"voice_{name}.onnx")
            if not os.path.exists(src):
                print(f"FileNotFoundError: upstream export wrote no {name} graph", file=sys.stderr)
                return 1
            shutil.move(src, os.path.join(out_dir, f"{name}.onnx"))
    finally:
        os.chdir(home)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
