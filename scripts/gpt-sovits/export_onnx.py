#!/usr/bin/env python3
"""Export a GPT-SoVITS checkpoint pair (s1 .ckpt + s2 .pth) to the ONNX graphs Vocalis loads.

    <python> -s scripts/gpt-sovits/export_onnx.py --gpt S1.ckpt --sovits S2.pth --out DIR \
        [--home GPT_SOVITS_HOME] [--version auto|v2|v2Pro|v2ProPlus] [--shared] [--decoder kv|legacy]

Voice graphs (always): t2s_encoder.onnx, t2s_decoder.onnx (Vocalis's one-graph stage decoder
with a caller-held KV cache, see t2s_kv_decoder.py) and vits.onnx (inputs `speed` and
`noise_scale` per request, and `sv_emb` for v2Pro/v2ProPlus). `--decoder legacy` writes
upstream-style t2s_fsdec.onnx + t2s_sdec.onnx instead of t2s_decoder.onnx (upstream's own
modules, for comparison benchmarks).
`--shared` also writes what a models directory shares between voices: cnhubert.onnx,
bert.onnx + bert-vocab.txt (Chinese BERT), and sv.onnx (v2Pro/v2ProPlus speaker model), from
the pretrained models under GPT_SoVITS/pretrained_models (or --pretrained DIR).
DIR/manifest.json records the version, the graphs' signatures and SHA-256s; `vocalis models
check --dir DIR` checks the directory against it.

Upstream's modules come from the GPT-SoVITS checkout (`--home`, else GPT_SOVITS_HOME, else the
working directory); nothing of upstream is copied into Vocalis. Needs that checkout's Python
requirements plus `onnx` (torch.onnx.export needs it). CPU only; no network: every model is
loaded with local_files_only. Works on torch >= 2.6 (weights_only) and >= 2.9 (the TorchScript
exporter is asked for explicitly; the dynamo exporter is the default there).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import upstream_models as um  # noqa: E402

OPSET = 17
SV_DIM = 20480
# vits.onnx's inputs; `speed` and `noise_scale` are f32[1] (upstream's speed and noise_scale).
VITS_INPUTS = ["text_seq", "pred_semantic", "ref_audio", "speed", "noise_scale"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpt", required=True, help="s1 weights (.ckpt): GPT_weights*/ or a pretrained s1 file")
    p.add_argument("--sovits", required=True, help="s2 weights (.pth): SoVITS_weights*/ or a pretrained s2G file")
    p.add_argument("--out", required=True, help="directory for the graphs and manifest.json")
    p.add_argument("--home", default=os.environ.get("GPT_SOVITS_HOME") or os.getcwd(), help="GPT-SoVITS checkout")
    p.add_argument("--version", default="auto", choices=["auto", "v2", "v2Pro", "v2ProPlus"], help="auto: from the s2 file's header")
    p.add_argument("--decoder", default="kv", choices=["kv", "legacy"])
    p.add_argument("--shared", action="store_true", help="also cnhubert, bert, sv: a complete models directory")
    p.add_argument("--pretrained", default=None, help="pretrained_models directory (default: HOME/GPT_SoVITS/pretrained_models)")
    p.add_argument("--only", default=None, help="comma-separated graph names to (re)write, e.g. t2s_decoder (default: all)")
    return p.parse_args(argv)


ONLY = None  # set from --only: the graph names to write


def export(module, args, path, inputs, outputs, dynamic_axes, opset=OPSET):
    import torch

    if ONLY is not None and os.path.basename(path)[: -len(".onnx")] not in ONLY:
        return
    with torch.no_grad():
        # dynamo=False: torch >= 2.9 defaults to the dynamo exporter, which these modules were not
        # written for (data-dependent shapes, Python control flow in upstream's code).
        torch.onnx.export(
            module,
            args,
            path,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            dynamo=False,
        )


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def signature(path):
    import onnx

    model = onnx.load(path, load_external_data=False)
    names = {1: "float32", 7: "int64", 6: "int32", 10: "float16", 9: "bool"}
    init = {i.name for i in model.graph.initializer}

    def spec(v):
        t = v.type.tensor_type
        return {"name": v.name, "type": names.get(t.elem_type, str(t.elem_type)), "rank": len(t.shape.dim)}

    return [spec(v) for v in model.graph.input if v.name not in init], [spec(v) for v in model.graph.output]


def export_voice_graphs(a, out, timings):
    import torch

    t0 = time.time()
    t2s, s1_config = um.load_t2s(a.gpt)
    vits, hps, version = um.load_vits(a.sovits, a.version)
    timings["load_s"] = round(time.time() - t0, 2)
    encoder, vits_graph, pro = um.make_modules(t2s, vits, hps, version)
    torch.manual_seed(0)

    ref_seq = torch.randint(1, 300, (1, 13))
    text_seq = torch.randint(1, 300, (1, 24))
    ref_bert = torch.randn(13, 1024)
    text_bert = torch.randn(24, 1024)
    ssl = torch.randn(1, 768, 150)
    t0 = time.time()
    export(
        encoder,
        (ref_seq, text_seq, ref_bert, text_bert, ssl),
        os.path.join(out, "t2s_encoder.onnx"),
        ["ref_seq", "text_seq", "ref_bert", "text_bert", "ssl_content"],
        ["x", "prompts"],
        {
            "ref_seq": {1: "ref_length"},
            "text_seq": {1: "text_length"},
            "ref_bert": {0: "ref_length"},
            "text_bert": {0: "text_length"},
            "ssl_content": {2: "ssl_length"},
            "x": {1: "phones"},
            "prompts": {1: "prompt_tokens"},
        },
    )
    timings["t2s_encoder_s"] = round(time.time() - t0, 2)
    with torch.no_grad():
        x, prompts = encoder(ref_seq, text_seq, ref_bert, text_bert, ssl)

    t0 = time.time()
    if a.decoder == "kv":
        from t2s_kv_decoder import KvStageDecoder, prompt_bias

        dec = KvStageDecoder(t2s).eval()
        layers, dim, n, m = dec.num_layers, dec.dim, 4, 3
        caches = tuple(torch.randn(n, dim) for _ in range(2 * layers))
        bias = torch.cat([torch.zeros(x.shape[1] + m, n), prompt_bias(x.shape[1], m)], dim=1)
        axes = {"x": {1: "x_len"}, "y": {1: "y_len"}, "attn_bias": {0: "new", 1: "total"}, "k_new": {1: "new"}, "v_new": {1: "new"}}
        for name in dec.input_names()[4:]:
            axes[name] = {0: "cached"}
        export(
            dec,
            (x, prompts[:, :m], torch.tensor([0]), bias) + caches,
            os.path.join(out, "t2s_decoder.onnx"),
            dec.input_names(),
            ["logits", "k_new", "v_new"],
            axes,
        )
    else:
        export_legacy_decoders(a, out)
    timings["t2s_decoder_s"] = round(time.time() - t0, 2)

    pred = torch.randint(0, 1024, (1, 1, 40))
    ref_audio = torch.randn(1, 32000 * 4) * 0.1
    # Traced at a speed other than 1, so the stretch is in the graph; speed 1 takes the same path.
    vits_args = (text_seq, pred, ref_audio, torch.tensor([1.25]), torch.tensor([0.5])) + ((torch.randn(1, SV_DIM),) if pro else ())
    t0 = time.time()
    export(
        vits_graph,
        vits_args,
        os.path.join(out, "vits.onnx"),
        VITS_INPUTS + (["sv_emb"] if pro else []),
        ["audio"],
        {"text_seq": {1: "text_length"}, "pred_semantic": {2: "pred_length"}, "ref_audio": {1: "audio_length"}, "audio": {0: "samples"}},
    )
    timings["vits_s"] = round(time.time() - t0, 2)
    return version, s1_config


def export_legacy_decoders(a, out):
    """Upstream's own t2s_fsdec/t2s_sdec (AR/models/t2s_model_onnx.py), as its onnx_export.py builds them."""
    import torch
    from AR.models.t2s_lightning_module_onnx import Text2SemanticLightningModule

    ckpt = torch.load(a.gpt, map_location="cpu", weights_only=False)
    module = Text2SemanticLightningModule(ckpt["config"], "-", is_train=False)
    module.load_state_dict({k: v.float() for k, v in ckpt["weight"].items()})
    model = module.model.eval()
    model.top_k = torch.LongTensor([ckpt["config"]["inference"]["top_k"]])
    model.early_stop_num = torch.LongTensor([50 * ckpt["config"]["data"]["max_sec"]])
    model.init_onnx()
    x = torch.randn(1, 37, 512)
    prompts = torch.randint(0, 1024, (1, 20))
    export(
        model.first_stage_decoder,
        (x, prompts),
        os.path.join(out, "t2s_fsdec.onnx"),
        ["x", "prompts"],
        ["y", "k", "v", "y_emb", "x_example"],
        {"x": {1: "x_length"}, "prompts": {1: "prompts_length"}},
        opset=16,
    )
    with torch.no_grad():
        y, k, v, y_emb, x_example = model.first_stage_decoder(x, prompts)
    export(
        model.stage_decoder,
        (y, k, v, y_emb, x_example),
        os.path.join(out, "t2s_sdec.onnx"),
        ["iy", "ik", "iv", "iy_emb", "ix_example"],
        ["y", "k", "v", "y_emb", "logits", "samples"],
        {"iy": {1: "iy_length"}, "ik": {1: "ik_length"}, "iv": {1: "iv_length"}, "iy_emb": {1: "iy_emb_length"}, "ix_example": {1: "ix_example_length"}},
        opset=16,
    )


def export_shared(a, out, version, timings):
    import torch

    pre = a.pretrained or os.path.join(a.home, "GPT_SoVITS", "pretrained_models")
    hubert_dir = os.path.join(pre, "chinese-hubert-base")
    bert_dir = os.path.join(pre, "chinese-roberta-wwm-ext-large")
    for d in (hubert_dir, bert_dir):
        if not os.path.isdir(d):
            raise SystemExit(f"{d} is missing: put upstream's pretrained models there (see its README) or pass --pretrained DIR; nothing is downloaded")
    t0 = time.time()
    export(
        um.Hubert.module(hubert_dir),
        (torch.randn(1, 16000 * 3) * 0.1,),
        os.path.join(out, "cnhubert.onnx"),
        ["ref_audio_16k"],
        ["last_hidden_state"],
        {"ref_audio_16k": {1: "audio_length"}, "last_hidden_state": {2: "frames"}},
    )
    timings["cnhubert_s"] = round(time.time() - t0, 2)
    vocab = os.path.join(bert_dir, "vocab.txt")
    if not os.path.exists(vocab):
        raise SystemExit(f"{vocab} is missing: bert.onnx needs the model's vocabulary")
    t0 = time.time()
    ids = torch.randint(100, 1000, (1, 12))
    export(
        um.bert_module(bert_dir),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        os.path.join(out, "bert.onnx"),
        ["input_ids", "attention_mask", "token_type_ids"],
        ["hidden_states"],
        {"input_ids": {1: "tokens"}, "attention_mask": {1: "tokens"}, "token_type_ids": {1: "tokens"}, "hidden_states": {0: "tokens"}},
    )
    shutil.copyfile(vocab, os.path.join(out, "bert-vocab.txt"))
    timings["bert_s"] = round(time.time() - t0, 2)
    if version in um.PRO_VERSIONS:
        sv_path = os.path.join(pre, "sv", "pretrained_eres2netv2w24s4ep4.ckpt")
        if not os.path.exists(sv_path):
            raise SystemExit(f"{sv_path} is missing: {version} needs upstream's ERes2NetV2 speaker model")
        t0 = time.time()
        export(
            um.sv_module(sv_path),
            (torch.randn(1, 16000 * 4) * 0.1,),
            os.path.join(out, "sv.onnx"),
            ["audio_16k"],
            ["sv_emb"],
            {"audio_16k": {1: "audio_length"}},
        )
        timings["sv_s"] = round(time.time() - t0, 2)


def write_manifest(out, version, decoder, timings):
    files = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        if not os.path.isfile(path) or name == "manifest.json":
            continue
        entry = {"name": name, "required": name not in ("bert.onnx", "bert-vocab.txt"), "sha256": sha256(path), "url": None, "description": f"exported by scripts/gpt-sovits/export_onnx.py"}
        if name.endswith(".onnx"):
            entry["inputs"], entry["outputs"] = signature(path)
        files.append(entry)
    previous = os.path.join(out, "manifest.json")
    if os.path.exists(previous):  # a partial re-export (--only) keeps the other graphs' timings
        with open(previous) as f:
            timings = {**json.load(f).get("export", {}), **timings}
    manifest = {"name": f"gpt-sovits-{version}-{decoder}", "version": version, "decoder": decoder, "files": files, "export": timings}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


def main(argv=None):
    global ONLY
    a = parse_args(argv)
    ONLY = set(a.only.split(",")) if a.only else None
    a.gpt, a.sovits, out = os.path.abspath(a.gpt), os.path.abspath(a.sovits), os.path.abspath(a.out)
    a.home = um.add_upstream_to_path(a.home)
    for path in (a.gpt, a.sovits):
        if not os.path.isfile(path):
            raise SystemExit(f"{path} does not exist")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.makedirs(out, exist_ok=True)
    # Graphs are written to a private folder first: a failed export leaves DIR as it was.
    work = tempfile.mkdtemp(prefix=".export-", dir=out)
    timings = {}
    t0 = time.time()
    try:
        version, _ = export_voice_graphs(a, work, timings)
        if a.shared:
            export_shared(a, work, version, timings)
        timings["total_s"] = round(time.time() - t0, 2)
        for name in os.listdir(work):
            os.replace(os.path.join(work, name), os.path.join(out, name))
        write_manifest(out, version, a.decoder, timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"out": out, "version": version, "decoder": a.decoder, "seconds": timings}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
