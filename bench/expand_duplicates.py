#!/usr/bin/env python3
"""Expand a run's groups of identical documents into the pairs they imply, for scorers that
read pairs only.

`retrace scan` reports every pair of a group of identical main texts in `pairs.jsonl` up to
1,000 members; a larger group lists the pairs of its first document, and each other member's
`duplicate_of` in `documents.jsonl` names that first document: every pair of the group is a
copy covering 100% of each side. This writes OUT_DIR/pairs.jsonl with those implied pairs
added (kind copy, coverage 1.0 each way, no evidence) and copies the other files, so that
`../shared/tools/score.py GOLD OUT_DIR` scores the whole of it.

Usage: python3 bench/expand_duplicates.py RUN_DIR OUT_DIR
"""

import json
import os
import shutil
import sys
from collections import defaultdict


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    run, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    groups = defaultdict(list)
    with open(os.path.join(run, "documents.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                if d.get("duplicate_of"):
                    groups[d["duplicate_of"]].append(d["id"])
    listed = set()
    with open(os.path.join(run, "pairs.jsonl"), encoding="utf-8") as f, \
            open(os.path.join(out, "pairs.jsonl"), "w", encoding="utf-8") as w:
        for line in f:
            if line.strip():
                p = json.loads(line)
                listed.add(tuple(sorted((p["a"], p["b"]))))
                w.write(line if line.endswith("\n") else line + "\n")
        added = 0
        for first, rest in sorted(groups.items()):
            members = sorted([first] + rest)
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if (a, b) not in listed:
                        w.write(json.dumps({"a": a, "b": b, "kind": "copy", "coverage_a": 1.0,
                                            "coverage_b": 1.0, "implied": True}) + "\n")
                        added += 1
    for name in os.listdir(run):
        if name != "pairs.jsonl" and os.path.isfile(os.path.join(run, name)):
            shutil.copy(os.path.join(run, name), os.path.join(out, name))
    print(f"{len(groups)} groups of identical documents; {added} implied pairs added")


if __name__ == "__main__":
    main()
