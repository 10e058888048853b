#!/usr/bin/env python3
"""Parity: upstream GPT-SoVITS's PyTorch inference vs Vocalis's ONNX graphs on identical inputs.

    <python> -s scripts/gpt-sovits/parity.py --home UPSTREAM --models DIR --s1 S1.ckpt --s2 S2.pth \
        [--version auto|v2|v2Pro|v2ProPlus] [--ref REF.wav] [--ts-probe] --out parity.json

DIR is what export_onnx.py wrote for that checkpoint pair. Compared (tolerances in TOLERANCES):
  ssl        upstream's chinese-hubert-base call as TTS.py makes it  vs cnhubert.onnx      (if present)
  sv         upstream's SV.compute_embedding3 (Pro)                 vs sv.onnx            (if present)
  bert       chinese-roberta-wwm-ext-large hidden_states[-3] as upstream's get_bert_feature takes
             it, on a tokenised Chinese sentence                    vs bert.onnx          (if present)
  encoder    upstream's text embedding + BERT projection + positions, and the prompt's semantic
             tokens (vits.extract_latent)                           vs t2s_encoder.onnx
  decoder    teacher-forced logits over 50 decode steps: upstream's t2s_transformer.process_prompt
             then decode_next_token with the same tokens, positions as infer_panel_naive
                                                                     vs t2s_decoder.onnx driven
             the way our TypeScript drives it (prompt pass, then one step per token with a
             caller-held cache); with --ts-probe also through our TypeScript decoder itself
  legacy     the same 50 steps through upstream-style t2s_fsdec/t2s_sdec, if DIR has them
  vits       upstream's SynthesizerTrn.decode (module/models.py, as TTS.py calls it) vs a
             vits graph exported as export_onnx.py exports it, fed noise_scale 0 (the only random
             part), at speed 1 and at the other speeds in VITS_SPEEDS
The reference clip defaults to a real 5 s recording from ../shared/data (allison-prompts).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import upstream_models as um  # noqa: E402

TOLERANCES = {
    "ssl_max_abs": 1e-3,
    "sv_max_rel": 1e-3,
    "encoder_x_max_abs": 1e-4,
    "prompts_mismatches": 0,
    "logits_max_abs": 2e-3,
    "logits_argmax_mismatches": 0,
    "vits_max_abs": 1e-3,
    "bert_max_abs": 1e-3,
}
DEFAULT_REF = os.path.join(REPO, "..", "shared", "data", "allison-prompts", "agent-incorrect.wav")
STEPS = 50
# vits parity speeds: 1 (no stretch, as upstream skips it) and a faster and a slower one.
VITS_SPEEDS = (1.0, 1.25, 0.8)
# "你好，世界。我是一个测试。" as v2 phones (upstream's own symbol table turns them into ids).
REF_PHONES = ["n", "i2", "h", "ao3", ",", "sh", "ir4", "j", "ie4", "."]
TEXT_PHONES = ["w", "o3", "sh", "ir4", "y", "i2", "g", "e5", "c", "e4", "sh", "ir4", ".", "HH", "AH0", "L", "OW1", "."]


def stats(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b)
    scale = np.abs(b).max() or 1.0
    return {"max_abs": float(diff.max()) if diff.size else 0.0, "mean_abs": float(diff.mean()) if diff.size else 0.0, "max_rel": float(diff.max() / scale) if diff.size else 0.0, "ref_max_abs": float(scale)}


def session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def load_ref(path):
    import librosa

    wav16, _ = librosa.load(path, sr=16000)
    wav32, _ = librosa.load(path, sr=32000)
    return wav16.astype(np.float32), wav32.astype(np.float32)


def upstream_ssl(pre_dir, wav16):
    """As TTS._set_prompt_semantic: 0.3 s of zeros appended, then cnhuhbert_model.model(...)."""
    import torch

    model = um.Hubert.module(os.path.join(pre_dir, "chinese-hubert-base"))
    wav = np.concatenate([wav16, np.zeros(int(32000 * 0.3), dtype=np.float32)])
    with torch.no_grad():
        return model(torch.from_numpy(wav).unsqueeze(0)).numpy(), wav


def teacher_tokens(prompt_len):
    rng = np.random.default_rng(7)
    return rng.integers(0, 1024, STEPS).tolist()


def upstream_logits(t2s, x, prompts, forced):
    """upstream infer_panel_naive's loop with the sampled token replaced by `forced[i]`."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        y = prompts
        y_emb = t2s.ar_audio_embedding(y)
        y_len = y_emb.shape[1]
        xy_pos = torch.concat([x, t2s.ar_audio_position(y_emb)], dim=1)
        x_len = x.shape[1]
        src_len = x_len + y_len
        x_attn_mask_pad = F.pad(torch.zeros((x_len, x_len), dtype=torch.bool), (0, y_len), value=True)
        y_attn_mask = F.pad(torch.triu(torch.ones(y_len, y_len, dtype=torch.bool), diagonal=1), (x_len, 0), value=False)
        mask = torch.concat([x_attn_mask_pad, y_attn_mask], dim=0).unsqueeze(0).expand(t2s.num_head, -1, -1).view(1, t2s.num_head, src_len, src_len)
        out = []
        k_cache = v_cache = None
        for idx in range(STEPS):
            if idx == 0:
                xy_dec, k_cache, v_cache = t2s.t2s_transformer.process_prompt(xy_pos, mask, None)
            else:
                xy_dec, k_cache, v_cache = t2s.t2s_transformer.decode_next_token(xy_pos, k_cache, v_cache)
            out.append(t2s.ar_predict_layer(xy_dec[:, -1])[0].numpy())
            token = torch.tensor([[forced[idx]]])
            y_emb = t2s.ar_audio_embedding(token)
            pos = t2s.ar_audio_position
            xy_pos = y_emb * pos.x_scale + pos.alpha * pos.pe[:, y_len + idx].to(dtype=y_emb.dtype)
        return np.stack(out)


def kv_logits(models, x, prompts, forced):
    """t2s_decoder.onnx driven as src/engine/backends/gpt-sovits/t2s-decoder.ts drives it."""
    sess = session(os.path.join(models, "t2s_decoder.onnx"))
    layers = sum(1 for i in sess.get_inputs() if i.name.startswith("k_cache_"))
    dim = x.shape[2]
    n_x, n_p = x.shape[1], prompts.shape[1]
    total = n_x + n_p
    bias = np.zeros((total, total), dtype=np.float32)
    bias[:n_x, n_x:] = -np.inf
    bias[n_x:, n_x:][np.triu(np.ones((n_p, n_p), dtype=bool), 1)] = -np.inf
    k = [np.zeros((0, dim), np.float32) for _ in range(layers)]
    v = [np.zeros((0, dim), np.float32) for _ in range(layers)]

    def run(xin, y, start, b):
        feeds = {"x": xin, "y": y, "y_start": np.array([start], np.int64), "attn_bias": b}
        feeds.update({f"k_cache_{i}": k[i] for i in range(layers)})
        feeds.update({f"v_cache_{i}": v[i] for i in range(layers)})
        logits, kn, vn = sess.run(["logits", "k_new", "v_new"], feeds)
        for i in range(layers):
            k[i] = np.concatenate([k[i], kn[i]])
            v[i] = np.concatenate([v[i], vn[i]])
        return logits[0]

    out = [run(x, prompts, 0, bias)]
    empty = np.zeros((1, 0, dim), np.float32)
    for idx in range(1, STEPS):
        cached = k[0].shape[0]
        out.append(run(empty, np.array([[forced[idx - 1]]], np.int64), n_p + idx - 1, np.zeros((1, cached + 1), np.float32)))
    return np.stack(out)


def legacy_logits(models, x, prompts, forced):
    """Upstream-style t2s_fsdec/t2s_sdec with the sampled token overwritten (teacher forcing)."""
    fs, sd = session(os.path.join(models, "t2s_fsdec.onnx")), session(os.path.join(models, "t2s_sdec.onnx"))
    y, k, v, y_emb, x_example = fs.run(None, {"x": x, "prompts": prompts})
    out = []
    # fsdec returns no logits; its first step equals the first step of ours/upstream (checked there).
    for idx in range(1, STEPS):
        y[0, -1] = forced[idx - 1]
        y, k, v, y_emb, logits, _ = sd.run(None, {"iy": y, "ik": k, "iv": v, "iy_emb": y_emb, "ix_example": x_example})
        out.append(logits[0])
    return np.stack(out)


def ts_probe(models, x, prompts, forced, work):
    """Our TypeScript decoder (SemanticDecoder.teacherForced) on the same inputs, via Node 24."""
    node = os.path.join(REPO, ".tools", "node", "node_modules", "node", "bin", "node")
    inp = os.path.join(work, "probe-in.json")
    with open(inp, "w") as f:
        json.dump({"models": models, "x": x[0].tolist(), "prompts": prompts[0].tolist(), "forced": forced[: STEPS - 1]}, f)
    res = subprocess.run([node, os.path.join(HERE, "chain_probe.ts"), inp], capture_output=True, text=True, cwd=REPO, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"chain_probe.ts failed: {res.stderr[-2000:]}")
    return np.array(json.loads(res.stdout)["logits"], dtype=np.float32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--home", default=os.environ.get("GPT_SOVITS_HOME"))
    p.add_argument("--models", required=True)
    p.add_argument("--s1", required=True)
    p.add_argument("--s2", required=True)
    p.add_argument("--version", default="auto")
    p.add_argument("--pretrained", default=None)
    p.add_argument("--ref", default=DEFAULT_REF)
    p.add_argument("--ts-probe", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not a.home:
        raise SystemExit("parity needs --home (a GPT-SoVITS checkout) or GPT_SOVITS_HOME")
    home = um.add_upstream_to_path(a.home)
    pre = a.pretrained or os.path.join(home, "GPT_SoVITS", "pretrained_models")
    if not os.path.exists(a.ref):
        raise SystemExit(f"reference clip {a.ref} is missing")
    import torch
    from text import cleaned_text_to_sequence

    torch.manual_seed(0)
    report = {"tolerances": TOLERANCES, "steps": STEPS, "ref": os.path.relpath(a.ref, REPO), "checks": {}}
    checks = report["checks"]
    t2s, _ = um.load_t2s(a.s1)
    vits_ref, hps, version = um.load_vits(a.s2, a.version, onnx_variant=False)
    vits_onnx, _, _ = um.load_vits(a.s2, version)
    report["version"] = version

    wav16, wav32 = load_ref(a.ref)
    ssl, padded16 = upstream_ssl(pre, wav16)
    if os.path.exists(os.path.join(a.models, "cnhubert.onnx")):
        ours = session(os.path.join(a.models, "cnhubert.onnx")).run(None, {"ref_audio_16k": padded16[None, :]})[0]
        checks["ssl"] = {**stats(ours, ssl), "shape": list(ours.shape), "pass": ours.shape == ssl.shape and stats(ours, ssl)["max_abs"] <= TOLERANCES["ssl_max_abs"]}

    if os.path.exists(os.path.join(a.models, "bert.onnx")):
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        bert_dir = os.path.join(pre, "chinese-roberta-wwm-ext-large")
        tokens = AutoTokenizer.from_pretrained(bert_dir, local_files_only=True)("今天天气很好，我们去公园。", return_tensors="pt")
        with torch.no_grad():
            model = AutoModelForMaskedLM.from_pretrained(bert_dir, local_files_only=True).eval()
            reference = model(**tokens, output_hidden_states=True)["hidden_states"][-3][0].numpy()
        del model
        ours = session(os.path.join(a.models, "bert.onnx")).run(None, {k: v.numpy() for k, v in tokens.items() if k in ("input_ids", "attention_mask", "token_type_ids")})[0]
        s = stats(ours, reference)
        checks["bert"] = {**s, "tokens": int(reference.shape[0]), "pass": ours.shape == reference.shape and s["max_abs"] <= TOLERANCES["bert_max_abs"]}

    ref_ids = np.array([cleaned_text_to_sequence(REF_PHONES, "v2")], dtype=np.int64)
    text_ids = np.array([cleaned_text_to_sequence(TEXT_PHONES, "v2")], dtype=np.int64)
    rng = np.random.default_rng(3)
    ref_bert = (rng.standard_normal((ref_ids.shape[1], 1024)) * 0.5).astype(np.float32)
    text_bert = (rng.standard_normal((text_ids.shape[1], 1024)) * 0.5).astype(np.float32)

    # Encoder: upstream's infer_panel_naive first lines + TTS's prompt semantic.
    with torch.no_grad():
        ids = torch.from_numpy(np.concatenate([ref_ids, text_ids], 1))
        bert = torch.from_numpy(np.concatenate([ref_bert.T, text_bert.T], 1)).unsqueeze(0)
        x_up = t2s.ar_text_position(t2s.ar_text_embedding(ids) + t2s.bert_proj(bert.transpose(1, 2)))
        prompts_up = vits_ref.extract_latent(torch.from_numpy(ssl))[0, 0].unsqueeze(0)
    enc = session(os.path.join(a.models, "t2s_encoder.onnx"))
    x_ours, prompts_ours = enc.run(["x", "prompts"], {"ref_seq": ref_ids, "text_seq": text_ids, "ref_bert": ref_bert, "text_bert": text_bert, "ssl_content": ssl})
    mism = int((prompts_ours != prompts_up.numpy()).sum()) if prompts_ours.shape == tuple(prompts_up.shape) else -1
    checks["encoder"] = {
        "x": stats(x_ours, x_up.numpy()),
        "prompt_tokens": int(prompts_up.shape[1]),
        "prompts_mismatches": mism,
        "pass": mism == 0 and stats(x_ours, x_up.numpy())["max_abs"] <= TOLERANCES["encoder_x_max_abs"],
    }

    forced = teacher_tokens(prompts_up.shape[1])
    up = upstream_logits(t2s, x_up, prompts_up, forced)
    x_in, p_in = x_up.numpy().astype(np.float32), prompts_up.numpy().astype(np.int64)

    def compare(name, ours, reference):
        s = stats(ours, reference)
        argmax = int((ours.argmax(-1) != reference.argmax(-1)).sum())
        checks[name] = {**s, "steps": int(ours.shape[0]), "argmax_mismatches": argmax, "pass": s["max_abs"] <= TOLERANCES["logits_max_abs"] and argmax == 0}

    t0 = time.time()
    if os.path.exists(os.path.join(a.models, "t2s_decoder.onnx")):
        compare("decoder_kv", kv_logits(a.models, x_in, p_in, forced), up)
        if a.ts_probe:
            with tempfile.TemporaryDirectory() as work:
                compare("decoder_ts", ts_probe(a.models, x_in, p_in, forced, work), up)
    if os.path.exists(os.path.join(a.models, "t2s_sdec.onnx")):
        compare("decoder_legacy", legacy_logits(a.models, x_in, p_in, forced), up[1:])
    report["decoder_seconds"] = round(time.time() - t0, 1)

    # vits: upstream decode (as TTS.py) vs our graph exported with noise_scale 0.
    pro = version in um.PRO_VERSIONS
    sv_emb = None
    if pro:
        from sv import SV  # noqa: upstream's sv.py reads its checkpoint relative to the checkout

        cwd = os.getcwd()
        os.chdir(home)
        try:
            import sv as sv_mod

            sv_mod.sv_path = os.path.join(pre, "sv", "pretrained_eres2netv2w24s4ep4.ckpt")
            sv_model = SV("cpu", False)
        finally:
            os.chdir(cwd)
        wav16_ref = torch.from_numpy(wav16).unsqueeze(0)
        sv_emb = sv_model.compute_embedding3(wav16_ref)
        if os.path.exists(os.path.join(a.models, "sv.onnx")):
            ours = session(os.path.join(a.models, "sv.onnx")).run(None, {"audio_16k": wav16[None, :]})[0]
            s = stats(ours, sv_emb.numpy())
            checks["sv"] = {**s, "pass": s["max_rel"] <= TOLERANCES["sv_max_rel"]}
    tokens = np.array([[forced]], dtype=np.int64)
    with torch.no_grad():
        refer = um.spectrogram(torch.from_numpy(wav32).unsqueeze(0), hps["data"]["filter_length"], hps["data"]["hop_length"], hps["data"]["win_length"])
        kwargs = {"sv_emb": [sv_emb]} if pro else {}
        audio_up = {speed: vits_ref.decode(torch.from_numpy(tokens), torch.from_numpy(text_ids), [refer], noise_scale=0.0, speed=speed, **kwargs)[0, 0].numpy() for speed in VITS_SPEEDS}
    with tempfile.TemporaryDirectory() as work:
        import export_onnx as ex

        # The graph exported as export_onnx.py does (speed and noise_scale are inputs), fed noise 0.
        _, vits_graph, _ = um.make_modules(t2s, vits_onnx, hps, version)
        names = ex.VITS_INPUTS + (["sv_emb"] if pro else [])
        args = (torch.from_numpy(text_ids), torch.from_numpy(tokens), torch.from_numpy(wav32).unsqueeze(0), torch.tensor([1.25]), torch.tensor([0.0])) + ((sv_emb,) if pro else ())
        path = os.path.join(work, "vits.onnx")
        ex.export(vits_graph, args, path, names, ["audio"], {"text_seq": {1: "t"}, "pred_semantic": {2: "p"}, "ref_audio": {1: "a"}, "audio": {0: "s"}})
        vits_session = session(path)
        for speed in VITS_SPEEDS:
            feeds = {"text_seq": text_ids, "pred_semantic": tokens, "ref_audio": wav32[None, :], "speed": np.array([speed], dtype=np.float32), "noise_scale": np.zeros(1, dtype=np.float32)}
            if pro:
                feeds["sv_emb"] = sv_emb.numpy()
            audio_ours, up = vits_session.run(None, feeds)[0], audio_up[speed]
            s = stats(audio_ours, up) if audio_ours.shape == up.shape else {"max_abs": float("inf")}
            noise = float(np.sum((audio_ours - up) ** 2)) if audio_ours.shape == up.shape else float("inf")
            snr = 10 * np.log10(float(np.sum(up**2)) / noise) if noise > 0 else float("inf")
            name = "vits" if speed == 1.0 else f"vits_speed_{speed}"
            checks[name] = {**s, "samples": int(audio_ours.shape[0]), "upstream_samples": int(up.shape[0]), "samples_per_token": audio_ours.shape[0] / STEPS, "snr_db": round(float(snr), 1), "pass": s["max_abs"] <= TOLERANCES["vits_max_abs"]}

    report["pass"] = all(c["pass"] for c in checks.values())
    with open(a.out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("max_abs", "argmax_mismatches", "prompts_mismatches", "snr_db", "pass")} for k, v in checks.items()}, indent=1))
    print("PASS" if report["pass"] else "FAIL")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
