#!/usr/bin/env python3
"""Benchmark of retrace's lexical stage against the datasketch MinHash-LSH peer.

Runs `retrace scan` and ../shared/tools/peers/datasketch_run.py on the same inputs in one run
and prints a table: documents, MB, seconds, MB/s, peak memory (and per document, and as a
multiple of the input text), and copy F1 on the dev collection for both.

Inputs: the dev collection, ../shared/corpora/bench/wmt-versions.jsonl.gz (25k documents) and
a 4x collection made from it (the collection four times under new ids; copies 1-3 with every
letter rotated within its alphabet, so that they keep the structure of the original - lengths,
the reuse among its documents - but relate neither to it nor to each other).

Usage: python3 bench/lexical.py [--reps N] [--skip-peer-4x] [--threads N] [--exe PATH]

Each tool runs --reps times on each input (default 3), one after the other, and the table shows
the best time of each (the least disturbed by other work on the machine; the peer gets the
same treatment) and the highest peak memory; the line under it gives the median ratio too.
The peer is installed into a virtualenv under /tmp by this script.
"""
import argparse, gzip, json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
VENV = "/tmp/retrace-bench-venv"


TIME = "/usr/bin/time"


def run(cmd, env=None):
    """Run cmd, return (seconds, peak RSS bytes).

    The peak comes from GNU time where it is installed: a child forked from this Python
    process inherits its resident size as the starting high-water mark, so the kernel's
    accounting of a direct child reports at least this script's own memory (tens of MB here).
    """
    timed = os.path.exists(TIME)
    full = [TIME, "-f", "BENCH_MAXRSS_KB %M", *cmd] if timed else cmd
    t = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"command failed ({status}): {' '.join(cmd)}\n{err}")
    peak = ru.ru_maxrss * 1024
    if timed:
        kb = [l.split()[1] for l in err.splitlines() if l.startswith("BENCH_MAXRSS_KB ")]
        if kb:
            peak = int(kb[-1]) * 1024
    return secs, peak


def best_of(reps, cmd, env=None):
    """Run cmd `reps` times: (best seconds, highest peak RSS, median seconds)."""
    runs = [run(cmd, env) for _ in range(max(1, reps))]
    secs = sorted(r[0] for r in runs)
    return secs[0], max(r[1] for r in runs), secs[len(secs) // 2]


def rotate(text, k):
    """Rotate letters by k within their block (Latin, Cyrillic, Greek, CJK, kana, ...)."""
    if k == 0:
        return text
    blocks = [(0x41, 26), (0x61, 26), (0x410, 32), (0x430, 32), (0x391, 17), (0x3B1, 17),
              (0x3041, 86), (0x30A1, 90), (0x4E00, 20992), (0xAC00, 11172), (0x5D0, 27), (0x621, 26)]
    out = []
    for c in text:
        o = ord(c)
        for start, n in blocks:
            if start <= o < start + n:
                o = start + (o - start + 7 * k) % n
                break
        out.append(chr(o))
    return "".join(out)


def copy_f1(out_dir):
    o = subprocess.run([sys.executable, f"{SHARED}/tools/score.py", f"{SHARED}/corpora/dev/gold.json", out_dir],
                       capture_output=True, text=True, check=True)
    return json.loads(o.stdout.strip().splitlines()[-1])["per_kind_f1"]["copy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-peer-4x", action="store_true", help="do not run the peer on the 4x input")
    ap.add_argument("--reps", type=int, default=3, help="runs of each tool on each input (best time kept)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--exe", help="retrace binary to time (default: build target/release/retrace)")
    ap.add_argument("--semantic", action="store_true",
                    help="also run the whole pipeline with the default encoders (use-m3, e5-small as fallback) on dev and wmt 1x "
                         "and print documents/s, peak memory and seconds per stage")
    a = ap.parse_args()
    if not os.path.isdir(f"{SHARED}/corpora"):
        sys.exit("../shared is missing: nothing to benchmark")
    if a.exe:
        exe = os.path.abspath(a.exe)
    else:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "retrace-cli"], cwd=ROOT, check=True)
        exe = os.path.join(ROOT, "target/release/retrace")
    if not os.path.exists(f"{VENV}/bin/python"):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([f"{VENV}/bin/pip", "install", "-q", "datasketch"], check=True)
    tmp = tempfile.mkdtemp(prefix="retrace-bench-")
    # Inputs as plain JSONL (the peer reads plain JSONL).
    inputs = [("dev", f"{SHARED}/corpora/dev/docs.jsonl")]
    wmt = f"{tmp}/wmt.jsonl"
    with gzip.open(f"{SHARED}/corpora/bench/wmt-versions.jsonl.gz", "rt", encoding="utf-8") as f, open(wmt, "w") as o:
        docs = [json.loads(l) for l in f]
        for d in docs:
            o.write(json.dumps(d, ensure_ascii=False) + "\n")
    inputs.append(("wmt 1x", wmt))
    wmt4 = f"{tmp}/wmt4.jsonl"
    with open(wmt4, "w") as o:
        for k in range(4):
            for d in docs:
                t = rotate(d["text"], k)
                o.write(json.dumps(dict(d, id=f"{d['id']}#{k}", text=t), ensure_ascii=False) + "\n")
    inputs.append(("wmt 4x", wmt4))
    del docs
    rows = []
    stages = {}
    medians = {}
    env = dict(os.environ)
    if a.threads:
        env["RAYON_NUM_THREADS"] = str(a.threads)
    for name, path in inputs:
        n = sum(1 for _ in open(path, encoding="utf-8"))
        mb = sum(len(json.loads(l)["text"].encode()) for l in open(path, encoding="utf-8")) / 1e6
        out = f"{tmp}/retrace-{name.replace(' ', '')}"
        s, rss, med = best_of(a.reps, [exe, "scan", "-q", "--encoder", "none", path, "--out", out], env)
        medians[(name, "retrace")] = med
        f1 = copy_f1(out) if name == "dev" else None
        rows.append((name, "retrace", n, mb, s, rss, f1))
        with open(f"{out}/run.json", encoding="utf-8") as f:
            stages[name] = json.load(f)["stats"]["seconds"]
        if name == "wmt 4x" and a.skip_peer_4x:
            continue
        out = f"{tmp}/peer-{name.replace(' ', '')}"
        s, rss, med = best_of(a.reps, [f"{VENV}/bin/python", f"{SHARED}/tools/peers/datasketch_run.py", path, out], env)
        medians[(name, "datasketch")] = med
        f1 = copy_f1(out) if name == "dev" else None
        rows.append((name, "datasketch", n, mb, s, rss, f1))
    print(f"{'input':8} {'tool':11} {'docs':>7} {'MB':>6} {'seconds':>8} {'MB/s':>7} {'peak MB':>8} {'B/doc':>7} {'mem/input':>9} {'copy F1':>8}")
    for name, tool, n, mb, s, rss, f1 in rows:
        print(f"{name:8} {tool:11} {n:7d} {mb:6.1f} {s:8.2f} {mb / s:7.2f} {rss / 1e6:8.1f} {rss / n:7.0f} {rss / 1e6 / mb:9.2f} {'' if f1 is None else f'{f1:.3f}':>8}")
    by = {(r[0], r[1]): r for r in rows}
    for name in ("dev", "wmt 1x", "wmt 4x"):
        if (name, "datasketch") in by:
            r, p = by[(name, "retrace")], by[(name, "datasketch")]
            m = medians[(name, "datasketch")] / medians[(name, "retrace")]
            print(f"{name}: retrace throughput = {p[4] / r[4]:.1f}x datasketch (best of {a.reps} each; {m:.1f}x by median times)")
    for name, sec in stages.items():
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sec.items())
        print(f"{name}: retrace stage seconds: {parts}")
    r1, r4 = by[("wmt 1x", "retrace")], by[("wmt 4x", "retrace")]
    print(f"retrace time 4x/1x = {r4[4] / r1[4]:.2f} for {r4[3] / r1[3]:.2f}x the text")
    if a.semantic:
        print()
        print(f"{'input':8} {'pipeline':16} {'docs':>7} {'seconds':>8} {'docs/s':>8} {'peak MB':>8} {'sentences':>9}  seconds per stage")
        for name, path in inputs[:2]:
            n = sum(1 for _ in open(path, encoding="utf-8"))
            out = f"{tmp}/semantic-{name.replace(' ', '')}"
            s, rss = run([exe, "scan", "-q", path, "--out", out], env)
            with open(f"{out}/run.json", encoding="utf-8") as f:
                st = json.load(f)["stats"]
            parts = ", ".join(f"{k} {v:.2f}" for k, v in st["seconds"].items())
            sents = st["sentences_embedded"] + st.get("fallback_sentences_embedded", 0)
            print(f"{name:8} {'full (default)':16} {n:7d} {s:8.2f} {n / s:8.0f} {rss / 1e6:8.1f} {sents:9d}  {parts}")


if __name__ == "__main__":
    main()
