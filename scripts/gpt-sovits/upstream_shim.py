"""Runtime fixes Vocalis applies to upstream GPT-SoVITS code it runs, without editing the checkout.

Loaded into every Python process the fine-tune driver starts (and into their children: mp.spawn
workers, DataLoader workers) through `shim-site/sitecustomize.py`, which the driver puts first on
PYTHONPATH; our own scripts (export_onnx.py, verify_upstream.py, parity.py) call `install()`.
Each concern is one function below, switched on by `install()`; every one states the upstream
behaviour it answers. Settings come from the environment so that child processes inherit them:

  VOCALIS_GSV_HOME          the upstream checkout (GPT_SOVITS_HOME)
  VOCALIS_GSV_CACHE         writable folder for data upstream would write into its own checkout
  VOCALIS_GSV_SHAPE_ONLY    "1": generate shape-only stand-ins for hub-only assets (nltk data).
                            For the integration check only: never on a real worker.
  VOCALIS_GSV_G2PW          "off": Chinese pinyin through pypinyin instead of the G2PW model.

Concerns (in install order):
  1. offline        no process may download: Hugging Face offline, nltk.download refused with
                    the resource named, G2PW's download refused with what to install.
  2. nltk data      g2p_en (English G2P) needs nltk's cmudict and the perceptron tagger; with
                    VOCALIS_GSV_SHAPE_ONLY they are generated (structure only, see below).
  3. checkout writes  text/english.py writes engdict_cache.pickle next to itself when the file
                    is missing (a read-only or incomplete checkout): redirected to the cache.
  4. checkpoints    torch ≥ 2.6 defaults torch.load to weights_only=True, which refuses the
                    utils.HParams object in every s2 .pth; and v2Pro/v2ProPlus s2 weights carry
                    my_save2's 2-byte version header instead of the zip magic "PK". A torch.load
                    without an explicit weights_only reads both, as process_ckpt.load_sovits_new does.
  5. audio loading  torchaudio ≥ 2.9 hands torchaudio.load to torchcodec, which upstream does not
                    install (2-get-sv.py); without torchcodec it is served by soundfile.
  6. G2PW off       chinese2.py always builds G2PW at import; with VOCALIS_GSV_G2PW=off its
                    model is never built and the pypinyin path upstream keeps is used.
  7. trainer progress  PyTorch Lightning (s1_train.py) picks RichProgressBar whenever `rich` is
                    installed (gradio, in upstream's requirements, pulls it in); on a pipe it prints
                    nothing, so a driver sees no epoch progress until the trainer exits. The
                    line-based TQDMProgressBar is used instead, as without rich.

Temporary files of upstream's my_save ("<time>.pth" in the working directory) are not a shim
matter: the driver runs every upstream script in a scratch working directory.
"""
import builtins
import importlib.abc
import importlib.util
import io
import json
import os
import sys

_INSTALLED = False


class OfflineAssetMissingError(RuntimeError):
    """An asset only a model hub or nltk's server provides is missing on this host."""


# ---------------------------------------------------------------------------------------------
# Import hooks: run a function right after (or instead of part of) an upstream module's import.
# ---------------------------------------------------------------------------------------------
_AFTER_IMPORT = {}


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _AFTER_IMPORT:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _AfterImportLoader(spec.loader, _AFTER_IMPORT[name])
                return spec
        return None


class _AfterImportLoader(importlib.abc.Loader):
    def __init__(self, inner, hook):
        self._inner = inner
        self._hook = hook

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        self._hook(module)


def after_import(name, hook):
    _AFTER_IMPORT[name] = hook
    if name in sys.modules:
        hook(sys.modules[name])


# ---------------------------------------------------------------------------------------------
# 1. Offline
# ---------------------------------------------------------------------------------------------
def _install_offline():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    def patch_nltk(nltk):
        def refuse_download(info_or_id=None, *args, **kwargs):
            # g2p_en calls this at import for data it may not even use (the legacy tagger next to
            # nltk ≥ 3.9's averaged_perceptron_tagger_eng): refuse like an offline nltk does,
            # returning False, and say so; a resource really needed fails later with LookupError.
            print(
                f"[vocalis-shim] not downloading nltk data {info_or_id!r} (workers stay offline); "
                f"if it is needed, install it beforehand: python -m nltk.downloader {info_or_id}",
                file=sys.stderr,
            )
            return False

        nltk.download = refuse_download
        if hasattr(nltk, "downloader"):
            nltk.downloader.download = refuse_download

    after_import("nltk", patch_nltk)

    def patch_g2pw(onnx_api):
        original = onnx_api.download_and_decompress

        def no_download(model_dir="G2PWModel/"):
            if os.path.exists(model_dir):
                return original(model_dir)
            raise OfflineAssetMissingError(
                f"the G2PW model is missing ({os.path.abspath(model_dir)}) and this host does not download: "
                "install G2PWModel into GPT_SoVITS/text/ as upstream's install script does, "
                "or set VOCALIS_GSV_G2PW=off (pinyin through pypinyin)"
            )

        onnx_api.download_and_decompress = no_download

    after_import("text.g2pw.onnx_api", patch_g2pw)


# ---------------------------------------------------------------------------------------------
# 2. nltk data (g2p_en)
# ---------------------------------------------------------------------------------------------
def _shape_only_nltk_data(root):
    """nltk data with the right structure and no knowledge, as the zip packages nltk's
    downloader installs: a cmudict corpus of two words (upstream replaces g2p_en's dictionary
    with its own cmudict.rep anyway) and a perceptron tagger with no weights, which tags every
    word NN. Homograph choice by part of speech is therefore off; other words are unaffected."""
    import zipfile

    packages = {
        os.path.join(root, "corpora", "cmudict.zip"): {
            "cmudict/cmudict": "A 1 AH0\nTHE 1 DH AH0\n",
            "cmudict/README": "shape-only stand-in generated by Vocalis's upstream_shim.py\n",
        },
        os.path.join(root, "taggers", "averaged_perceptron_tagger_eng.zip"): {
            "averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.weights.json": json.dumps({}),
            "averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.tagdict.json": json.dumps({}),
            "averaged_perceptron_tagger_eng/averaged_perceptron_tagger_eng.classes.json": json.dumps(["NN"]),
        },
        # g2p_en only checks that the old tagger's package exists (it tags through nltk.pos_tag).
        os.path.join(root, "taggers", "averaged_perceptron_tagger.zip"): {
            "averaged_perceptron_tagger/README": "shape-only stand-in generated by Vocalis's upstream_shim.py\n",
        },
    }
    for path, members in packages.items():
        if os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.partial"
        with zipfile.ZipFile(tmp, "w") as z:
            for name, text in members.items():
                z.writestr(name, text)
        os.replace(tmp, path)


def _install_nltk_data(cache):
    if os.environ.get("VOCALIS_GSV_SHAPE_ONLY") != "1" or not cache:
        return
    root = os.path.join(cache, "nltk_data")
    _shape_only_nltk_data(root)
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join([root, *paths])
    after_import("nltk.data", lambda data: root in data.path or data.path.insert(0, root))


# ---------------------------------------------------------------------------------------------
# 3. Writes into the checkout
# ---------------------------------------------------------------------------------------------
def _install_checkout_redirects(home, cache):
    if not home or not cache:
        return
    redirects = {
        os.path.realpath(os.path.join(home, "GPT_SoVITS", "text", "engdict_cache.pickle")): os.path.join(cache, "engdict_cache.pickle"),
    }
    # Only files the checkout lacks: a complete checkout is read as it is.
    redirects = {src: dst for src, dst in redirects.items() if not os.path.exists(src)}
    if not redirects:
        return
    os.makedirs(cache, exist_ok=True)
    real_open = builtins.open
    real_exists = os.path.exists

    def target(path):
        if isinstance(path, (str, os.PathLike)):
            return redirects.get(os.path.realpath(os.fspath(path)))
        return None

    def open_redirected(file, *args, **kwargs):
        return real_open(target(file) or file, *args, **kwargs)

    def exists_redirected(path):
        t = target(path)
        return real_exists(t) if t else real_exists(path)

    builtins.open = open_redirected
    os.path.exists = exists_redirected


# ---------------------------------------------------------------------------------------------
# 4. Checkpoints
# ---------------------------------------------------------------------------------------------
_VERSION_HEADERS = (b"00", b"01", b"02", b"03", b"04", b"05", b"06")


def read_checkpoint_bytes(path):
    """A .pth as torch.load wants it: my_save2's version header (05 v2Pro, 06 v2ProPlus, …)
    put back to the zip magic, exactly as process_ckpt.load_sovits_new does."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] in _VERSION_HEADERS:
        data = b"PK" + data[2:]
    return data


def _install_checkpoints():
    def patch_torch(torch):
        original = torch.load

        def load(f, *args, **kwargs):
            # Upstream's own files are pickles with utils.HParams inside; the operator trusts them.
            kwargs.setdefault("weights_only", False)
            if isinstance(f, (str, os.PathLike)) and os.path.isfile(f):
                with open(f, "rb") as fh:
                    head = fh.read(2)
                if head in _VERSION_HEADERS:
                    f = io.BytesIO(read_checkpoint_bytes(f))
            return original(f, *args, **kwargs)

        load.__wrapped__ = original
        torch.load = load

    after_import("torch", patch_torch)


# ---------------------------------------------------------------------------------------------
# 5. Audio loading
# ---------------------------------------------------------------------------------------------
def _install_audio():
    def patch_torchaudio(torchaudio):
        if importlib.util.find_spec("torchcodec") is not None:
            return
        original = getattr(torchaudio, "load", None)

        def load(uri, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, *args, **kwargs):
            import soundfile
            import torch

            stop = None if num_frames is None or num_frames < 0 else frame_offset + num_frames
            data, rate = soundfile.read(uri, start=frame_offset, stop=stop, dtype="float32", always_2d=True)
            tensor = torch.from_numpy(data)
            return (tensor.T.contiguous() if channels_first else tensor), rate

        load.__wrapped__ = original
        torchaudio.load = load

    after_import("torchaudio", patch_torchaudio)


# ---------------------------------------------------------------------------------------------
# 6. G2PW off
# ---------------------------------------------------------------------------------------------
class _G2pwOff:
    """Stands where chinese2.py builds G2PW at import; never asked for pinyin, because
    chinese2.is_g2pw is set False right after the import (upstream's own pypinyin path)."""

    def __init__(self, *args, **kwargs):
        pass


def _install_g2pw_off():
    if os.environ.get("VOCALIS_GSV_G2PW", "").lower() != "off":
        return

    def patch_package(g2pw):
        g2pw.G2PWPinyin = _G2pwOff

    def patch_chinese2(chinese2):
        chinese2.is_g2pw = False

    after_import("text.g2pw", patch_package)
    after_import("text.chinese2", patch_chinese2)


# ---------------------------------------------------------------------------------------------
# 7. Trainer progress
# ---------------------------------------------------------------------------------------------
def _install_progress():
    def plain_progress_bar(connector):
        connector._RICH_AVAILABLE = False

    after_import("pytorch_lightning.trainer.connectors.callback_connector", plain_progress_bar)


def install():
    """Idempotent; safe in every process."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    sys.meta_path.insert(0, _AfterImportFinder())
    home = os.environ.get("VOCALIS_GSV_HOME") or os.environ.get("GPT_SOVITS_HOME")
    cache = os.environ.get("VOCALIS_GSV_CACHE")
    _install_offline()
    _install_nltk_data(cache)
    _install_checkout_redirects(home, cache)
    _install_checkpoints()
    _install_audio()
    _install_g2pw_off()
    _install_progress()


def shim_site_dir():
    """The folder to put first on PYTHONPATH so that every process loads this shim."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim-site")
