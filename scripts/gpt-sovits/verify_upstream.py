#!/usr/bin/env python3
"""The upstream integration check: Vocalis against a real GPT-SoVITS checkout, random weights.

    npm run verify:gpt-sovits -- --home GPT_SOVITS_HOME [--version v2|v2Pro|v2ProPlus|all]
    <python> scripts/gpt-sovits/verify_upstream.py --home H --node NODE [--version …] [--work DIR]
        [--pretrained DIR] [--speaker 1688] [--epochs 1] [--batch 4] [--skip-parity] [--skip-finetune]

Per version, with the checkout it is given (nothing of upstream is copied into Vocalis):
  1. random-initialised pretrained models in upstream's formats and layout
     (make_random_pretrained.py; reused when already there);
  2. the base models directory: our export (export_onnx.py --shared) of the pretrained pair,
     timed (export time), then `vocalis models check --dir`;
  3. a 60 s sample from one LibriSpeech speaker (../shared/data, read in place);
  4. one real fine-tune through our TypeScript backend and trainer driver
     (verify_finetune.ts): upstream's 1-get-text, 2-get-hubert-wav32k, 2-get-sv (Pro) and
     3-get-semantic, then s2_train.py and s1_train.py for `--epochs` epochs each on CPU, our
     export of the result with models check and the smoke synthesis, then one sentence with the
     fine-tuned voice through our chain to an Ogg Opus file;
  5. parity.py (upstream PyTorch vs our graphs) on the base pair and its export of step 2 (the
     fine-tuned pair lives only inside the job: its export is checked by `models check` and the
     smoke synthesis there).
A JSON report goes to <work>/report.json and stdout. Exit code 0 only if every step passed.
Architecture and code paths are verified; the sound is not (no real weights here).
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VERSIONS = ("v2", "v2Pro", "v2ProPlus")
NODE_FLAGS = ["--disable-warning=ExperimentalWarning"]


def log(message):
    print(f"[verify] {message}", file=sys.stderr, flush=True)


_current = None


def _forward(signum, _frame):
    # The running step gets the signal and cleans up (the fine-tune stops upstream's process
    # group and deletes its work folder); then this script stops.
    if _current is not None and _current.poll() is None:
        _current.send_signal(signum)
        _current.wait()
    raise SystemExit(128 + signum)


def run(cmd, *, env=None, cwd=None, capture=False):
    """Runs a step; its output goes to stderr (the report is stdout), stdout kept when asked."""
    global _current
    log("$ " + " ".join(cmd))
    started = time.time()
    _current = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE if capture else sys.stderr, stderr=sys.stderr, text=True)
    out, _ = _current.communicate()
    code, _current = _current.returncode, None
    return code, (out if capture else ""), time.time() - started


def base_pair(pretrained, version):
    if version == "v2":
        return (os.path.join(pretrained, "gsv-v2final-pretrained", "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"),
                os.path.join(pretrained, "gsv-v2final-pretrained", "s2G2333k.pth"))
    return os.path.join(pretrained, "s1v3.ckpt"), os.path.join(pretrained, "v2Pro", f"s2G{version}.pth")


def make_sample(data_dir, speaker, out):
    """60 s of one speaker: their utterances in order, cut at 60 s, 16 kHz mono WAV."""
    folder = os.path.join(data_dir, "librispeech", "test-other", speaker)
    files = sorted(glob.glob(os.path.join(folder, "*.flac")))
    if not files:
        raise SystemExit(f"no LibriSpeech files for speaker {speaker} in {folder}")
    listing = out + ".txt"
    with open(listing, "w", encoding="utf-8") as f:
        f.writelines(f"file '{p}'\n" for p in files)
    code, _, _ = run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing, "-t", "60", "-ar", "16000", "-ac", "1", out])
    os.remove(listing)
    if code != 0:
        raise SystemExit("ffmpeg could not build the sample")


def shim_env(args, work):
    env = dict(os.environ)
    env.update({
        "GPT_SOVITS_HOME": args.home,
        "VOCALIS_GSV_HOME": args.home,
        "VOCALIS_GSV_CACHE": os.path.join(work, "cache"),
        "VOCALIS_GSV_SHAPE_ONLY": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([os.path.join(HERE, "shim-site"), args.home, os.path.join(args.home, "GPT_SoVITS")]),
    })
    return env


def check_version(args, version, pretrained, sample, work):
    report = {"version": version, "steps": {}}
    steps = report["steps"]
    env = shim_env(args, work)
    python = sys.executable
    vwork = os.path.join(work, version)
    shutil.rmtree(vwork, ignore_errors=True)
    os.makedirs(vwork)

    # 1. pretrained
    code, _, seconds = run([python, os.path.join(HERE, "make_random_pretrained.py"), "--home", args.home, "--out", pretrained, "--version", version, "--no-finetune-format"], env=env, cwd=vwork)
    steps["pretrained"] = {"ok": code == 0, "seconds": round(seconds, 1)}
    if code != 0:
        return report

    # 2. base models directory + models check
    models = os.path.join(vwork, "models")
    s1, s2 = base_pair(pretrained, version)
    code, _, seconds = run([python, "-s", os.path.join(HERE, "export_onnx.py"), "--home", args.home, "--pretrained", pretrained, "--version", version,
                            "--gpt", s1, "--sovits", s2, "--out", models, "--shared"], env=env, cwd=vwork)
    steps["export_base"] = {"ok": code == 0, "seconds": round(seconds, 1)}
    if code != 0:
        return report
    code, out, _ = run([args.node, *NODE_FLAGS, os.path.join(REPO, "src", "cli", "main.ts"), "models", "check", "--dir", models, "--json"], cwd=REPO, capture=True)
    steps["models_check"] = {"ok": code == 0, "output": _json_or_text(out)}
    if code != 0:
        return report

    # 4. fine-tune through the TypeScript driver, synthesis to Ogg Opus
    if args.skip_finetune:
        steps["finetune"] = {"ok": True, "skipped": "--skip-finetune"}
        return report
    ogg = os.path.join(vwork, "voice.ogg")
    code, out, seconds = run([args.node, *NODE_FLAGS, os.path.join(HERE, "verify_finetune.ts"), "--home", args.home, "--python", python,
                              "--pretrained", pretrained, "--models", models, "--version", version, "--sample", sample,
                              "--work", os.path.join(vwork, "finetune"), "--out", ogg, "--epochs", str(args.epochs), "--batch", str(args.batch)],
                             cwd=REPO, capture=True)
    steps["finetune"] = {"ok": code == 0 and os.path.exists(ogg), "seconds": round(seconds, 1), "result": _json_or_text(out)}
    if not steps["finetune"]["ok"]:
        return report

    # 5. parity on the base pair and its export
    parity = os.path.join(HERE, "parity.py")
    if args.skip_parity or not os.path.exists(parity):
        steps["parity"] = {"ok": True, "skipped": "--skip-parity" if args.skip_parity else "scripts/gpt-sovits/parity.py not present"}
    else:
        out_json = os.path.join(vwork, "parity.json")
        code, _, seconds = run([python, "-s", parity, "--home", args.home, "--models", models, "--s1", s1, "--s2", s2, "--version", version,
                                "--pretrained", pretrained, "--out", out_json], env=env, cwd=vwork)
        result = json.load(open(out_json, encoding="utf-8")) if os.path.exists(out_json) else None
        steps["parity"] = {"ok": code == 0, "seconds": round(seconds, 1), "result": result}
    return report


def _json_or_text(text):
    text = (text or "").strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return text[-2000:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--home", required=True)
    p.add_argument("--node", required=True, help="Node 24 binary (the npm script passes its own)")
    p.add_argument("--version", default="v2ProPlus", choices=[*VERSIONS, "all"])
    p.add_argument("--work", default=None, help="work folder (default: $TMPDIR/vocalis-verify-gpt-sovits)")
    p.add_argument("--pretrained", default=None, help="random pretrained models folder (default: <work>/pretrained)")
    p.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    p.add_argument("--speaker", default="1688")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--skip-parity", action="store_true")
    p.add_argument("--skip-finetune", action="store_true", help="pretrained, export and models check only")
    args = p.parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _forward)
    args.home = os.path.abspath(args.home)
    if not os.path.exists(os.path.join(args.home, "GPT_SoVITS", "s2_train.py")):
        raise SystemExit(f"not a GPT-SoVITS checkout: {args.home}")
    work = os.path.abspath(args.work or os.path.join(os.environ.get("TMPDIR", "/tmp"), "vocalis-verify-gpt-sovits"))
    pretrained = os.path.abspath(args.pretrained or os.path.join(work, "pretrained"))
    os.makedirs(work, exist_ok=True)
    commit = subprocess.run(["git", "-C", args.home, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
    import torch  # noqa: E402  (versions for the report)

    sample = os.path.join(work, f"sample-{args.speaker}.wav")
    make_sample(args.data, args.speaker, sample)
    started = time.time()
    reports = [check_version(args, v, pretrained, sample, work) for v in (VERSIONS if args.version == "all" else (args.version,))]
    summary = {
        "upstream": {"home": args.home, "commit": commit},
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "seconds": round(time.time() - started, 1),
        "ok": all(all(s.get("ok") for s in r["steps"].values()) and "finetune" in r["steps"] for r in reports),
        "versions": reports,
    }
    with open(os.path.join(work, "report.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
