#!/usr/bin/env python3
"""Random-initialised "pretrained" GPT-SoVITS models, built from upstream's own classes and configs.

    python make_random_pretrained.py --home GPT_SOVITS_HOME --out DIR [--version v2|v2Pro|v2ProPlus|all]

No pretrained weights can be downloaded on the build machine, but the architecture can be run:
models with upstream's shapes and random weights, saved in the formats and paths upstream's
loaders expect, exercise every line real weights would (loading, preparation, training, export,
graph shapes). Only the sound is meaningless. DIR is laid out like upstream's
`GPT_SoVITS/pretrained_models/` (point GPT_SOVITS_PRETRAINED_DIR at it):

  chinese-hubert-base/                 HubertModel (base) + Wav2Vec2FeatureExtractor, from config
  chinese-roberta-wwm-ext-large/       BertForMaskedLM (large, 21128 ids) + a generated vocabulary
  gsv-v2final-pretrained/s2G2333k.pth, s2D2333k.pth,
      s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt            (v2)
  v2Pro/s2Gv2Pro.pth, s2Dv2Pro.pth / s2Gv2ProPlus.pth, s2Dv2ProPlus.pth, s1v3.ckpt,
      sv/pretrained_eres2netv2w24s4ep4.ckpt                       (v2Pro / v2ProPlus)
  vocalis-finetune-format/<version>/  the same random s2G/s1 passed through upstream's own savers
      (process_ckpt.savee → my_save2 with the 05/06 header for Pro and a utils.HParams config;
      s1_train's half-weights dict), i.e. what a fine-tune writes: for export checks.

Formats (from upstream's loaders, commit 48b1a01):
  - s2G/s2D: torch.save of {"weight": fp16 state_dict, "config": dict, "info": str} — s2_train.py reads
    them with a plain torch.load(...)["weight"], so pretrained files carry no version header
    (upstream recognises its own pretrained files by hash; ours it will take for v2 by size, so
    the version is always passed explicitly).
  - s1: {"weight": Lightning state_dict in fp16, "config": s1 config, "info"} (loaded by
    Text2SemanticLightningModule with torch.load(...)["weight"], by inference with ["config"]).
  - sv: a plain state_dict (2-get-sv.py: torch.load + load_state_dict, strict).
Shared parts (hubert, roberta, sv, s1v3) are created once and reused when already present.
The seed is fixed, so the files are the same on every run.
"""
import argparse
import json
import os
import sys
import time

VERSIONS = ("v2", "v2Pro", "v2ProPlus")
S1_V2 = "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
S1_V3 = "s1v3.ckpt"
SV_CKPT = "sv/pretrained_eres2netv2w24s4ep4.ckpt"
HUBERT = "chinese-hubert-base"
ROBERTA = "chinese-roberta-wwm-ext-large"


def s2_paths(version):
    if version == "v2":
        return "gsv-v2final-pretrained/s2G2333k.pth", "gsv-v2final-pretrained/s2D2333k.pth"
    return f"v2Pro/s2G{version}.pth", f"v2Pro/s2D{version}.pth"


def s2_config_file(home, version):
    name = "s2.json" if version == "v2" else f"s2{version}.json"
    return os.path.join(home, "GPT_SoVITS", "configs", name)


def log(message):
    print(f"[pretrained] {message}", flush=True)


def atomic_save(torch, obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.partial"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def make_hubert(out):
    """chinese-hubert-base: a HuBERT base (768 wide, 12 layers), as cnhubert.py loads it."""
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    target = os.path.join(out, HUBERT)
    if os.path.exists(os.path.join(target, "config.json")):
        return
    config = HubertConfig(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        feat_extract_norm="group", conv_bias=False, do_stable_layer_norm=False,
        feat_proj_layer_norm=True, vocab_size=32,
    )
    model = HubertModel(config).eval()
    tmp = f"{target}.partial"
    model.save_pretrained(tmp, safe_serialization=False)  # the hub's copy is pytorch_model.bin
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=False
    ).save_pretrained(tmp)
    os.replace(tmp, target)
    log(f"{HUBERT}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")


def roberta_vocab():
    """21128 entries like the hub's vocabulary: specials at their usual ids, ASCII, CJK
    punctuation, then CJK ideographs. Only the shape matters: one id per character, so
    1-get-text.py's per-character BERT features line up as with the real vocabulary."""
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    seen = set(vocab)

    def add(token):
        if token not in seen and len(vocab) < 21128:
            seen.add(token)
            vocab.append(token)

    for c in range(0x21, 0x7F):
        add(chr(c).lower())
    for c in "，。！？、；：“”‘’（）《》【】—…·～":
        add(c)
    for c in range(0x4E00, 0x9FFF):
        add(chr(c))
    for c in range(0x61, 0x7B):
        add(f"##{chr(c)}")
    n = 0
    while len(vocab) < 21128:
        add(f"[unused_fill{n}]")
        n += 1
    return vocab


def make_roberta(out):
    """chinese-roberta-wwm-ext-large: BERT large (1024 wide, 24 layers), 1-get-text.py's
    AutoModelForMaskedLM with output_hidden_states."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    target = os.path.join(out, ROBERTA)
    if os.path.exists(os.path.join(target, "config.json")):
        return
    tmp = f"{target}.partial"
    os.makedirs(tmp, exist_ok=True)
    vocab = roberta_vocab()
    with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
        intermediate_size=4096, max_position_embeddings=512, type_vocab_size=2,
        pooler_fc_size=768, pooler_num_attention_heads=12, pooler_num_fc_layers=3,
        pooler_size_per_head=128, pooler_type="first_token_transform", directionality="bidi",
    )
    model = BertForMaskedLM(config).eval()
    model.save_pretrained(tmp, safe_serialization=False)
    BertTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True, tokenize_chinese_chars=True).save_pretrained(tmp)
    os.replace(tmp, target)
    log(f"{ROBERTA}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")


def make_sv(torch, out):
    """ERes2NetV2 w24 s4 (the speaker model of 2-get-sv.py and sv.py): a plain state_dict."""
    target = os.path.join(out, SV_CKPT)
    if os.path.exists(target):
        return
    from ERes2NetV2 import ERes2NetV2  # GPT_SoVITS/eres2net on sys.path

    model = ERes2NetV2(baseWidth=24, scale=4, expansion=4).eval()
    atomic_save(torch, model.state_dict(), target)
    log(f"{SV_CKPT}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")


def s1_config(home):
    import yaml  # noqa: F401  (upstream's own loader reads the template)
    from AR.utils.io import load_yaml_config

    return load_yaml_config(os.path.join(home, "GPT_SoVITS", "configs", "s1longer-v2.yaml"))


def make_s1(torch, home, out, rel):
    """The GPT (text → semantic) in the dict s1_train.py's my_model_ckpt writes: fp16 weights."""
    target = os.path.join(out, rel)
    if os.path.exists(target):
        return
    from collections import OrderedDict

    from AR.models.t2s_lightning_module import Text2SemanticLightningModule

    config = s1_config(home)
    module = Text2SemanticLightningModule(config, None, is_train=False)
    # Upstream's TransformerEncoder deep-copies one layer n_layer times, so a fresh model has 24
    # identical layers (trained ones never do; ONNX export would even de-duplicate them): each
    # layer gets its own noise.
    import torch as _torch

    with _torch.no_grad():
        for name, p in module.named_parameters():
            if ".layers." in name:
                p.add_(_torch.randn_like(p) * max(float(p.std()), 0.02))
    weight = OrderedDict((k, v.half()) for k, v in module.state_dict().items())
    atomic_save(torch, {"weight": weight, "config": config, "info": "GPT-e0 (random, Vocalis)"}, target)
    log(f"{rel}: {sum(p.numel() for p in module.parameters()) / 1e6:.1f} M parameters")


def build_s2(home, version):
    import utils
    from module.models import MultiPeriodDiscriminator, SynthesizerTrn

    hps = utils.get_hparams_from_file(s2_config_file(home, version))
    hps.model.version = version
    net_g = SynthesizerTrn(
        hps.data.filter_length // 2 + 1,
        hps.train.segment_size // hps.data.hop_length,
        n_speakers=hps.data.n_speakers,
        **hps.model,
    ).eval()
    net_d = MultiPeriodDiscriminator(hps.model.use_spectral_norm, version=version).eval()
    # A trained quantizer has its k-means codebook initialised ("inited" buffer = 1). Left at 0,
    # the first extract_latent (3-get-semantic.py) runs k-means and torch.distributed.broadcast,
    # which fails outside a process group: a state no real pretrained file is in.
    # Its codebook starts as zeros under k-means init (every frame would get token 0): random
    # vectors instead, so the semantic tokens vary as real ones do.
    for name, buffer in net_g.named_buffers():
        if name.endswith(".inited"):
            buffer.fill_(1)
        elif name.endswith("_codebook.embed") or name.endswith("_codebook.embed_avg"):
            buffer.normal_()
    return hps, net_g, net_d


def make_s2(torch, home, out, version):
    g_rel, d_rel = s2_paths(version)
    g_path, d_path = os.path.join(out, g_rel), os.path.join(out, d_rel)
    if os.path.exists(g_path) and os.path.exists(d_path):
        return
    with open(s2_config_file(home, version), encoding="utf-8") as f:
        config = json.load(f)
    config["model"]["version"] = version
    hps, net_g, net_d = build_s2(home, version)
    info = f"random {version} (Vocalis)"
    # fp16 like the hub's files (s2G2333k.pth ≈ 100 MiB for 51 M parameters): 3-get-semantic.py
    # guesses the version from the file size.
    half = lambda sd: {k: v.half() for k, v in sd.items()}  # noqa: E731
    atomic_save(torch, {"weight": half(net_g.state_dict()), "config": config, "info": info}, g_path)
    atomic_save(torch, {"weight": half(net_d.state_dict()), "info": info}, d_path)
    log(f"{g_rel}: {sum(p.numel() for p in net_g.parameters()) / 1e6:.1f} M parameters; {d_rel}")


def make_finetune_format(torch, home, out, version):
    """The random base passed through upstream's own savers, the way a fine-tune leaves it."""
    target = os.path.join(out, "vocalis-finetune-format", version)
    s2_name, s1_name = f"base-{version}_e0_s0", f"base-{version}-e0.ckpt"
    if os.path.exists(os.path.join(target, f"{s2_name}.pth")) and os.path.exists(os.path.join(target, s1_name)):
        return
    os.makedirs(target, exist_ok=True)
    import utils
    from process_ckpt import my_save, savee

    g_rel, _ = s2_paths(version)
    hps, net_g, _ = build_s2(home, version)
    weight = torch.load(os.path.join(out, g_rel), map_location="cpu", weights_only=False)["weight"]
    net_g.load_state_dict({k: v.float() for k, v in weight.items()})
    hps.save_weight_dir = target
    hps.name = f"base-{version}"
    hps.version = version
    cwd = os.getcwd()
    os.chdir(target)  # my_save / savee write a temporary file into the working directory
    try:
        result = savee(net_g.state_dict(), s2_name, 0, 0, hps, model_version=version)
        if result != "Success.":
            raise RuntimeError(f"upstream savee failed: {result}")
        s1 = torch.load(os.path.join(out, S1_V2 if version == "v2" else S1_V3), map_location="cpu", weights_only=False)
        my_save(s1, os.path.join(target, s1_name))
    finally:
        os.chdir(cwd)
    with open(os.path.join(target, f"{s2_name}.pth"), "rb") as f:
        head = f.read(2)
    log(f"vocalis-finetune-format/{version}: {s2_name}.pth (header {head!r}), {s1_name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True, help="upstream GPT-SoVITS checkout (GPT_SOVITS_HOME)")
    parser.add_argument("--out", required=True, help="directory laid out like GPT_SoVITS/pretrained_models")
    parser.add_argument("--version", default="all", choices=[*VERSIONS, "all"])
    parser.add_argument("--no-finetune-format", action="store_true", help="skip vocalis-finetune-format/")
    args = parser.parse_args()

    home = os.path.abspath(args.home)
    out = os.path.abspath(args.out)
    if not os.path.exists(os.path.join(home, "GPT_SoVITS", "s2_train.py")):
        print(f"not a GPT-SoVITS checkout: {home}", file=sys.stderr)
        return 2
    for p in (os.path.join(home, "GPT_SoVITS", "eres2net"), os.path.join(home, "GPT_SoVITS"), home):
        sys.path.insert(0, p)
    os.makedirs(out, exist_ok=True)

    import torch

    torch.manual_seed(0)
    started = time.time()
    versions = VERSIONS if args.version == "all" else (args.version,)
    make_hubert(out)
    make_roberta(out)
    for version in versions:
        make_s1(torch, home, out, S1_V2 if version == "v2" else S1_V3)
        make_s2(torch, home, out, version)
        if version != "v2":
            make_sv(torch, out)
        if not args.no_finetune_format:
            make_finetune_format(torch, home, out, version)
    log(f"done in {time.time() - started:.1f} s: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
