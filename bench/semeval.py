#!/usr/bin/env python3
"""SemEval-2022 Task 8 (multilingual news article similarity) with `retrace compare --pairs`.

Runs `retrace compare --pairs FILE` (default ../shared/corpora/semeval-t8/train.jsonl) and
prints, overall, per half (split by a CRC-32 of `pair_id`: the `same_event` weights were
fitted on half 0) and per language pair:

- Pearson(same_event, -overall) (gold `overall`: 1 same event ... 4 unrelated);
- F1 of telling pairs with overall <= 1.5 (positive) from pairs with overall >= 3.5, cut at
  same_event >= 0.5 (and, for information, at the best cut);
- pairs/s as `retrace` reports it (scoring: prepare, embed, align, judge).

Usage: python3 bench/semeval.py [FILE] [--retrace PATH] [--scores OUT.jsonl] [-- ARGS...]
(ARGS are passed to `retrace compare`, e.g. `-- --encoder e5-small`).
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import zlib
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pearson(x, y):
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    if sx == 0 or sy == 0:
        return float("nan")
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (sx * sy)


def f1_at(rows, cut):
    tp = fp = fn = 0
    for score, overall in rows:
        if overall <= 1.5:
            if score >= cut:
                tp += 1
            else:
                fn += 1
        elif overall >= 3.5 and score >= cut:
            fp += 1
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def figures(rows):
    """(n, Pearson, F1 at 0.5, best F1, pairs in the F1 task) of [(score, overall)]."""
    r = pearson([s for s, _ in rows], [-o for _, o in rows])
    f1 = f1_at(rows, 0.5)
    best = max(f1_at(rows, c / 100) for c in range(101))
    task = sum(1 for _, o in rows if o <= 1.5 or o >= 3.5)
    return len(rows), r, f1, best, task


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?",
                    default=os.path.join(ROOT, "../shared/corpora/semeval-t8/train.jsonl"))
    ap.add_argument("--retrace", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/retrace"))
    ap.add_argument("--scores", help="also keep retrace's output lines here")
    ap.add_argument("extra", nargs="*", help="arguments for retrace compare (after --)")
    a = ap.parse_args()
    cmd = [a.retrace, "compare", "--pairs", a.file] + a.extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    if a.scores:
        with open(a.scores, "w") as f:
            f.write(p.stdout)
    out = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    bad = [o for o in out if "error" in o]
    if bad:
        sys.exit(f"{len(bad)} lines failed, e.g. {bad[0]['error']}")
    speed = re.search(r"\(([0-9.]+) pairs/s\)", p.stderr)
    groups = defaultdict(list)
    for o in out:
        row = (o["same_event"], o["overall"])
        groups["all"].append(row)
        groups[f"half {zlib.crc32(o['pair_id'].encode()) % 2}"].append(row)
        groups[f"{o.get('lang_a')}-{o.get('lang_b')}"].append(row)
    print(f"{'set':<12} {'pairs':>5} {'pearson':>8} {'F1@0.5':>7} {'best F1':>8} {'F1 pairs':>8}")
    order = ["all", "half 0", "half 1"] + sorted(k for k in groups if not k.startswith(("all", "half")))
    for k in order:
        n, r, f1, best, task = figures(groups[k])
        print(f"{k:<12} {n:>5} {r:>8.3f} {f1:>7.3f} {best:>8.3f} {task:>8}")
    if speed:
        print(f"speed: {speed.group(1)} pairs/s ({p.stderr.strip().splitlines()[-1]})")


if __name__ == "__main__":
    main()
