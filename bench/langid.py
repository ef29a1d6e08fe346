#!/usr/bin/env python3
"""Language identification candidates side by side on the dev and wide collections.

Every candidate reads the same input: the first 640 bytes of each document (what retrace's
`identify` reads; site headers included, unlike in `retrace scan`, which reads the main text).
Accuracy is over documents whose gold language has an ISO 639-1 code, as in the scorer's
"language id" line (Norwegian written forms count as `no`).

Usage: python bench/langid.py   (with a Python that has fasttext-predict, pycld2 and
  lingua-language-detector: python3 -m venv /tmp/lid && /tmp/lid/bin/pip install
  fasttext-predict pycld2 lingua-language-detector; candidates not installed are skipped)
Needs `cargo build --release -p retrace --example langid` and `retrace model install lid176`.
"""
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
SAMPLE = 640
LANG_SAME = {"nb": ("nb", "no"), "nn": ("nn", "no"), "no": ("no", "nb", "nn")}
MODEL = Path(os.environ.get("RETRACE_MODEL_DIR", Path.home() / ".cache/retrace/models")) / "lid176/lid.176.ftz"


def prefix(text):
    b = text.encode()[:SAMPLE]
    return b.decode(errors="ignore")


def load(corpus):
    gold = json.load(open(SHARED / corpus / "gold.json", encoding="utf-8"))["documents"]
    docs = [json.loads(l) for l in open(SHARED / corpus / "docs.jsonl", encoding="utf-8")]
    return [(prefix(d["text"]), gold[d["id"]]["lang"]) for d in docs if len(gold[d["id"]]["lang"]) == 2]


def retrace(mode):
    exe = ROOT / "target" / "release" / "examples" / "langid"

    def run(texts):
        r = subprocess.run([str(exe), mode], input="".join(json.dumps(t) + "\n" for t in texts),
                           capture_output=True, text=True, check=True)
        # The tool's own timing (identification only, no process start or JSON).
        secs = float(r.stderr.split(" in ")[1].split(" s")[0])
        return [l.split("\t")[0] for l in r.stdout.splitlines()], secs
    return run


def timed(f):
    def run(texts):
        t = time.perf_counter()
        out = [f(x) for x in texts]
        return out, time.perf_counter() - t
    return run


def candidates():
    # (name, run, languages, timing repetitions: the best is reported)
    out = [("retrace: lid.176 + whatlang + word rules", retrace("identify"), "176 + xh, zu, sn, ak, fo", 7),
           ("retrace: whatlang (exact) + word rules, the fallback", retrace("whatlang"), "69 + is, xh, fo, ms", 7)]
    try:
        import fasttext
        ft = fasttext.load_model(str(MODEL))

        def f(t):
            labels, _ = ft.predict(t.replace("\n", " "))
            return labels[0].replace("__label__", "") if labels else "und"
        out.append(("fastText lid.176.ftz (fasttext-predict)", timed(f), "176", 3))
    except Exception as e:  # noqa: BLE001
        print(f"skipped fastText: {e}")
    try:
        import pycld2

        fix = {"iw": "he", "jw": "jv", "zh-Hant": "zh", "un": "und"}

        def c(t):
            try:
                code = pycld2.detect(t)[2][0][1]
            except pycld2.error:
                return "und"
            return fix.get(code, code.split("-")[0])
        out.append(("CLD2 (pycld2)", timed(c), "83", 3))
    except ImportError as e:
        print(f"skipped CLD2: {e}")
    try:
        from lingua import LanguageDetectorBuilder
        det = LanguageDetectorBuilder.from_all_languages().build()

        def g(t):
            lang = det.detect_language_of(t)
            return lang.iso_code_639_1.name.lower() if lang else "und"
        out.append(("lingua 2 (all languages, high accuracy)", timed(g), "75", 1))
    except ImportError as e:
        print(f"skipped lingua: {e}")
    return out


def main():
    data = {c: load(c) for c in ("wide", "dev")}
    print("| identifier | languages | wide accuracy | dev accuracy | docs/s (wide) | docs/s (dev) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, run, langs, reps in candidates():
        cells = {}
        for corpus, rows in data.items():
            texts = [t for t, _ in rows]
            got, secs = run(texts)
            for _ in range(reps - 1):
                secs = min(secs, run(texts)[1])
            ok = sum(g in LANG_SAME.get(w, (w,)) for g, (_, w) in zip(got, rows))
            cells[corpus] = (ok / len(rows), len(rows) / secs)
        print(f"| {name} | {langs} | {cells['wide'][0]:.4f} | {cells['dev'][0]:.4f} | "
              f"{cells['wide'][1]:,.0f} | {cells['dev'][1]:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
