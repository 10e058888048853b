"""Loading GPT-SoVITS checkpoints with upstream's own classes, and the modules Vocalis exports.

Shared by export_onnx.py and parity.py. Nothing of upstream is copied here: upstream's modules
are imported from the checkout given as `home` (GPT_SOVITS_HOME) and its weights are loaded into
upstream's own classes. What this file adds is what upstream's exporter (GPT_SoVITS/onnx_export.py
at 48b1a01) gets wrong or lacks:

- s2 `.pth` files hold a `utils.HParams` object: torch >= 2.6 refuses them unless
  `weights_only=False`; v2Pro/v2ProPlus files start with the header bytes 05/06 instead of "PK"
  (process_ckpt.my_save2), which plain `torch.load` cannot read at all.
- the version is read from that header (upstream's exporter only tells v1 from v2, builds a v2
  model for a Pro checkpoint and loads it with strict=False, silently dropping the Pro layers).
- wrappers for the graphs: encoder, vits (with `sv_emb` for Pro), cnhubert, bert, sv.
"""
import io
import os
import sys

HEADER_VERSIONS = {b"05": "v2Pro", b"06": "v2ProPlus"}
PRO_VERSIONS = ("v2Pro", "v2ProPlus")


def add_upstream_to_path(home):
    """Upstream's modules import each other as top-level packages from GPT_SoVITS/."""
    home = os.path.abspath(home)
    if not os.path.isdir(os.path.join(home, "GPT_SoVITS", "AR")):
        raise SystemExit(f"{home} is not a GPT-SoVITS checkout (no GPT_SoVITS/AR); pass --home or set GPT_SOVITS_HOME")
    for path in (os.path.join(home, "GPT_SoVITS", "eres2net"), os.path.join(home, "GPT_SoVITS"), home):
        if path not in sys.path:
            sys.path.insert(0, path)
    return home


def read_s2(path):
    """(checkpoint dict, version) from an s2 `.pth`, with or without upstream's version header."""
    import torch

    with open(path, "rb") as f:
        data = f.read()
    header = data[:2]
    version = HEADER_VERSIONS.get(header)
    if header != b"PK":
        if header not in (b"00", b"01", b"02", b"03", b"04", b"05", b"06"):
            raise SystemExit(f"{path}: not a GPT-SoVITS s2 checkpoint (starts with {header!r})")
        data = b"PK" + data[2:]
    # The file pickles a utils.HParams object: it has to be unpickled (weights_only=False).
    ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "weight" not in ckpt or "config" not in ckpt:
        raise SystemExit(f"{path}: no 'weight'/'config' in the checkpoint; is it a SoVITS (s2) weights file?")
    if version is None:
        emb = ckpt["weight"].get("enc_p.text_embedding.weight")
        if emb is None:
            raise SystemExit(f"{path}: a v3/v4 checkpoint (no text embedding); Vocalis exports v2, v2Pro and v2ProPlus")
        version = "v1" if emb.shape[0] == 322 else "v2"
    return ckpt, version


def _hps_dict(config):
    """The s2 config as a plain nested dict (HParams in fine-tunes, dict in pretrained files)."""
    if isinstance(config, dict):
        return {k: _hps_dict(v) if hasattr(v, "__dict__") or isinstance(v, dict) else v for k, v in config.items()}
    if hasattr(config, "__dict__"):
        return {k: _hps_dict(v) for k, v in vars(config).items()}
    return config


class Attr(dict):
    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError as e:
            raise AttributeError(name) from e
        return Attr(value) if isinstance(value, dict) else value


def load_vits(path, version=None, onnx_variant=True):
    """Upstream's SynthesizerTrn (module.models_onnx for export, module.models for reference
    inference) with the checkpoint's weights; strict loading, so a Pro/v2 mismatch is an error."""
    ckpt, found = read_s2(path)
    if version and version != "auto" and found in PRO_VERSIONS and version != found:
        raise SystemExit(f"{path} is a {found} checkpoint, not {version}")
    if version in (None, "auto"):
        version = found
    if version == "v1":
        raise SystemExit(f"{path}: a v1 checkpoint; Vocalis exports v2, v2Pro and v2ProPlus")
    hps = Attr(_hps_dict(ckpt["config"]))
    model_cfg = dict(hps["model"])
    model_cfg["version"] = version
    model_cfg["semantic_frame_rate"] = "25hz"
    if onnx_variant:
        from module.models_onnx import SynthesizerTrn
    else:
        from module.models import SynthesizerTrn
    data = hps["data"]
    model = SynthesizerTrn(
        data["filter_length"] // 2 + 1,
        hps["train"]["segment_size"] // data["hop_length"],
        n_speakers=data["n_speakers"],
        **model_cfg,
    )
    weights = {k: v.float() for k, v in ckpt["weight"].items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # enc_q (the posterior encoder, training only) is in pretrained s2G files, dropped by savee in
    # fine-tunes, and absent from models_onnx; models_onnx's encoders declare a spk_emb_linear their
    # forward never uses. Anything else missing or unexpected means the wrong version.
    missing = [k for k in missing if not k.startswith("enc_q.") and ".spk_emb_linear." not in k]
    unexpected = [k for k in unexpected if not k.startswith("enc_q.")]
    if missing or unexpected:
        raise SystemExit(
            f"{path}: weights do not fit a {version} SynthesizerTrn (missing {missing[:4]}, unexpected {unexpected[:4]}); pass the right --version"
        )
    model.eval()
    return model, hps, version


def load_t2s(path):
    """Upstream's Text2SemanticDecoder (AR/models/t2s_model.py) with the s1 checkpoint's weights."""
    import torch
    from AR.models.t2s_lightning_module import Text2SemanticLightningModule

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "weight" not in ckpt or "config" not in ckpt:
        raise SystemExit(f"{path}: no 'weight'/'config'; pass a GPT weights file (GPT_weights*/ or a pretrained s1 .ckpt)")
    module = Text2SemanticLightningModule(ckpt["config"], "-", is_train=False)
    module.load_state_dict({k: v.float() for k, v in ckpt["weight"].items()})
    module.eval()
    return module.model, ckpt["config"]


def spectrogram(y, n_fft, hop, win):
    """Upstream's spectrogram_torch (module/mel_processing.py) without complex tensors."""
    import torch

    window = torch.hann_window(win, dtype=y.dtype)
    pad = (n_fft - hop) // 2
    y = torch.nn.functional.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(y, n_fft, hop_length=hop, win_length=win, window=window, center=False, normalized=False, onesided=True, return_complex=False)
    return torch.sqrt(spec.pow(2).sum(-1) + 1e-6)


def stretch_frames(x, speed):
    """Upstream's TextEncoder speed change, `F.interpolate(y, size=int(T / speed) + 1, mode="linear")`
    (skipped when speed == 1), written with tensor ops so that `speed` can be a graph input: the
    traced F.interpolate would bake the output length in as a constant. Same sampling positions as
    PyTorch's linear mode with align_corners=False; with speed 1 every position is a source frame."""
    import torch

    frames = torch._shape_as_tensor(x)[-1]
    stretched = torch.floor(frames.float() / speed).long() + 1
    length = torch.where(speed == 1.0, frames, stretched).reshape(())
    src = (torch.arange(length).float() + 0.5) * (frames.float() / length.float()) - 0.5
    src = torch.clamp(src, min=0.0)
    left = torch.floor(src).long()
    right = torch.minimum(left + 1, frames - 1)
    weight = src - left.float()
    return x.index_select(-1, left) * (1.0 - weight) + x.index_select(-1, right) * weight


def make_modules(t2s, vits, hps, version):
    """The torch modules our graphs are exported from."""
    import torch
    from torch import nn

    class Encoder(nn.Module):
        """As upstream's T2SEncoder: text+BERT embedding with positions, and the prompt's semantic tokens."""

        def __init__(self):
            super().__init__()
            self.t2s = t2s
            self.vits = vits

        def forward(self, ref_seq, text_seq, ref_bert, text_bert, ssl_content):
            prompts = self.vits.extract_latent(ssl_content)[0, 0].unsqueeze(0)
            ids = torch.cat([ref_seq, text_seq], 1)
            bert = torch.cat([ref_bert.transpose(0, 1), text_bert.transpose(0, 1)], 1).unsqueeze(0)
            x = self.t2s.ar_text_embedding(ids)
            x = x + self.t2s.bert_proj(bert.transpose(1, 2))
            return self.t2s.ar_text_position(x), prompts

    data = hps["data"]
    pro = version in PRO_VERSIONS

    class Vits(nn.Module):
        """Inputs `speed` (upstream's speed, f32[1]) and `noise_scale` (f32[1]) are graph inputs, so
        one graph serves every request. Upstream applies speed inside TextEncoder.forward, between
        encoder2 and the 1x1 `proj` conv; a hook stretches enc_p's outputs instead, which is the
        same thing because linear interpolation commutes with a pointwise affine map."""

        def __init__(self):
            super().__init__()
            self.vits = vits
            self._speed = None
            vits.enc_p.register_forward_hook(self._stretch)

        def _stretch(self, _module, _inputs, outputs):
            y, m, logs, y_mask = outputs
            y, m, logs = (stretch_frames(t, self._speed) for t in (y, m, logs))
            return y, m, logs, torch.ones_like(y[:1, :1, :])

        def forward(self, text_seq, pred_semantic, ref_audio, speed, noise_scale, sv_emb=None):
            refer = spectrogram(ref_audio, data["filter_length"], data["hop_length"], data["win_length"])
            self._speed = speed
            try:
                return self.vits(pred_semantic, text_seq, refer, noise_scale=noise_scale, speed=1, sv_emb=sv_emb)[0, 0]
            finally:
                self._speed = None

    return Encoder().eval(), Vits().eval(), pro


class Hubert:
    """chinese-hubert-base as upstream's TTS.py calls it: `cnhuhbert_model.model(wav16k)` (no
    feature-extractor normalisation), last_hidden_state transposed to [1, 768, T]."""

    @staticmethod
    def module(path):
        from torch import nn
        from transformers import HubertModel

        class SSL(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = HubertModel.from_pretrained(path, local_files_only=True)

            def forward(self, ref_audio_16k):
                return self.model(ref_audio_16k)["last_hidden_state"].transpose(1, 2)

        return SSL().eval()


def bert_module(path):
    """chinese-roberta-wwm-ext-large as upstream's get_bert_feature uses it: hidden_states[-3]."""
    from torch import nn
    from transformers import AutoModelForMaskedLM

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = AutoModelForMaskedLM.from_pretrained(path, local_files_only=True)

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, output_hidden_states=True)
            return out["hidden_states"][-3][0]

    return Bert().eval()


class _Spectrum:
    """What Kaldi.fbank does with torch.fft.rfft's result: only `.abs()`."""

    def __init__(self, re, im):
        self.re, self.im = re, im

    def abs(self):
        import torch

        return torch.sqrt(self.re * self.re + self.im * self.im)


def _rfft_as_matmul(x):
    """torch.fft.rfft over the last axis as two matrix products: the TorchScript ONNX exporter has
    no aten::fft_rfft (opset 17), and upstream's fbank (eres2net/kaldi.py) calls it."""
    import math

    import torch

    n = x.shape[-1]
    k = torch.arange(n // 2 + 1, dtype=torch.float64).unsqueeze(1)
    t = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    angle = 2 * math.pi * k * t / n
    return _Spectrum(x @ torch.cos(angle).T.to(x.dtype), -(x @ torch.sin(angle).T.to(x.dtype)))


def sv_module(path):
    """ERes2NetV2 as upstream's sv.py: Kaldi fbank (80 bins, 16 kHz, no dither) → forward3 → 20480-d."""
    import torch
    from torch import nn
    from ERes2NetV2 import ERes2NetV2
    import kaldi as Kaldi

    class SV(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = ERes2NetV2(baseWidth=24, scale=4, expansion=4)
            self.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))

        def forward(self, audio_16k):
            rfft = torch.fft.rfft
            torch.fft.rfft = _rfft_as_matmul
            try:
                feat = Kaldi.fbank(audio_16k, num_mel_bins=80, sample_frequency=16000, dither=0).unsqueeze(0)
            finally:
                torch.fft.rfft = rfft
            return self.model.forward3(feat)

    return SV().eval()
