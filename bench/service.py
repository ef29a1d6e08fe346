#!/usr/bin/env python3
"""Load test of `retrace serve` on loopback, and add throughput of `retrace index add`.

For each collection (../shared/corpora/bench/wmt-versions.jsonl.gz, 25k documents, and the 4x
collection bench/lexical.py makes from it) and each encoder setting (lexical: `--encoder none`;
default: the installed default encoders), in one run:

1. `retrace scan` of the collection and `retrace index add` of it into a new index (one
   commit), both timed: documents/s, and their ratio; then `index add --batch-size 2500` of
   it into another new index (each batch judged against those before it);
2. `retrace serve` over that index on 127.0.0.1, then C client threads (keep-alive HTTP/1.1)
   for S seconds, each request picked by a seeded generator: half `POST /query` with a text
   derived from a random document of the collection (its first half of sentences, the
   shape of a truncated republication), half `GET /documents/{id}/related` of a random id;
   throughput and p50/p99 latency per request kind (measured in the client, so they include
   HTTP and JSON encoding).

`--limit N` keeps an evenly spaced sample of N documents of wmt (every (25,115/N)-th, so
the mix of languages stays that of the whole) before making the collections: the default
encoders' e5-small fallback reads ~100 sentences/s on a 2-core CPU, too slow for 25k.

`--repeat R` runs the scan and the one-commit add R times, alternating, and reports the
median of each (the machine's other load then weighs on both alike).

Usage: python3 bench/service.py [--clients C] [--seconds S] [--sizes 1x,4x] [--limit N] [--repeat R]
                                [--encoders lexical,use-m3,default] [--exe PATH] [--threads N]
Prints a table; nothing is written outside a temporary directory.
"""
import argparse, gzip, http.client, json, os, random, shutil, socket, statistics, subprocess, sys, tempfile
import threading, time
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from lexical import rotate  # noqa: E402  (the 4x collection is the one lexical.py measures)


def timed(cmd, env):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return time.perf_counter() - t


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, limit=600):
    t = time.time()
    while time.time() - t < limit:
        if proc.poll() is not None:
            sys.exit(f"retrace serve exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return time.time() - t
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("retrace serve did not become healthy")


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def load(port, docs, clients, seconds, seed):
    """C threads for `seconds`: returns {kind: [latency s]} and the wall time."""
    lat = {"query": [], "related": []}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    errors = []

    def client(k):
        rng = random.Random(seed * 1000 + k)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = {"query": [], "related": []}
        while time.perf_counter() < stop:
            d = docs[rng.randrange(len(docs))]
            if rng.random() < 0.5:
                sents = d["text"].split(". ")
                body = json.dumps({"text": ". ".join(sents[: max(1, len(sents) // 2)])}).encode()
                kind, method, path = "query", "POST", "/query"
                headers = {"Content-Type": "application/json"}
            else:
                body, kind, method = None, "related", "GET"
                path = "/documents/" + quote(d["id"], safe="") + "/related"
                headers = {}
            t = time.perf_counter()
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            dt = time.perf_counter() - t
            if r.status != 200:
                errors.append(f"{method} {path}: {r.status}")
                return
            mine[kind].append(dt)
        with lock:
            for k2, v in mine.items():
                lat[k2].extend(v)

    ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit("requests failed: " + "; ".join(errors[:5]))
    return lat, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--sizes", default="1x,4x")
    ap.add_argument("--encoders", default="lexical,default")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1,
                    help="time scan and one-commit add R times, alternating; report medians")
    ap.add_argument("--limit", type=int, default=0, help="an evenly spaced sample of N documents")
    ap.add_argument("--exe", help="retrace binary (default: build target/release/retrace)")
    a = ap.parse_args()
    src = f"{SHARED}/corpora/bench/wmt-versions.jsonl.gz"
    if not os.path.exists(src):
        sys.exit("../shared/corpora/bench is missing: nothing to benchmark")
    if a.exe:
        exe = os.path.abspath(a.exe)
    else:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "retrace-cli"], cwd=ROOT, check=True)
        exe = os.path.join(ROOT, "target/release/retrace")
    env = dict(os.environ)
    if a.threads:
        env["RAYON_NUM_THREADS"] = str(a.threads)
    tmp = tempfile.mkdtemp(prefix="retrace-service-bench-")
    with gzip.open(src, "rt", encoding="utf-8") as f:
        base = [json.loads(l) for l in f]
    if 0 < a.limit < len(base):
        base = [base[i * len(base) // a.limit] for i in range(a.limit)]
    sample = f" (sample of {len(base):,})" if a.limit else ""
    rows = []
    try:
        for size in a.sizes.split(","):
            n = int(size.rstrip("x"))
            docs = [dict(d, id=f"{d['id']}#{k}" if n > 1 else d["id"], text=rotate(d["text"], k))
                    for k in range(n) for d in base]
            path = f"{tmp}/wmt{size}.jsonl"
            with open(path, "w", encoding="utf-8") as o:
                for d in docs:
                    o.write(json.dumps(d, ensure_ascii=False) + "\n")
            for enc in a.encoders.split(","):
                flags = {"lexical": ["--encoder", "none"], "use-m3": ["--fallback-encoder", "none"],
                         "default": []}[enc]
                idx = f"{tmp}/index-{size}-{enc}"
                scans, adds = [], []
                for _ in range(a.repeat):  # alternating, so that both see the same load
                    scans.append(timed([exe, "scan", "-q", *flags, path, "--out", f"{tmp}/scan"], env))
                    timed([exe, "index", "create", idx, *flags], env)
                    adds.append(timed([exe, "index", "add", "-q", idx, path], env))
                    shutil.rmtree(idx, ignore_errors=True)
                scan_s, add_s = statistics.median(scans), statistics.median(adds)
                timed([exe, "index", "create", idx, *flags], env)
                batched_s = timed([exe, "index", "add", "-q", "--batch-size", "2500", idx, path], env)
                port = free_port()
                proc = subprocess.Popen([exe, "serve", "--index", idx, "--addr", f"127.0.0.1:{port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                try:
                    open_s = wait_healthy(port, proc)
                    load(port, docs, a.clients, min(3.0, a.seconds), a.seed + 1)  # warm-up
                    lat, wall = load(port, docs, a.clients, a.seconds, a.seed)
                finally:
                    proc.terminate()
                    proc.wait()
                shutil.rmtree(idx, ignore_errors=True)
                rows.append((size, enc, len(docs), len(docs) / scan_s, len(docs) / add_s,
                             len(docs) / batched_s, open_s,
                             len(lat["query"]) / wall, pct(lat["query"], 50), pct(lat["query"], 99),
                             len(lat["related"]) / wall, pct(lat["related"], 50), pct(lat["related"], 99)))
                print(f"  done: {size} {enc}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{a.clients} clients, {a.seconds:g} s each, {os.cpu_count()} cores, "
          f"scan and add: median of {a.repeat}\n")
    print("| collection | encoders | docs | scan docs/s | add docs/s | add/scan | add in batches of 2,500 docs/s "
          "| serve ready s "
          "| query/s | query p50 ms | query p99 ms | related/s | related p50 ms | related p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        size, enc, n, scan, add, batched, op, q, q50, q99, rl, r50, r99 = r
        print(f"| wmt {size}{sample} | {enc} | {n:,} | {scan:,.0f} | {add:,.0f} | {add / scan:.2f} | {batched:,.0f} | {op:.2f} "
              f"| {q:,.0f} | {q50 * 1e3:.1f} | {q99 * 1e3:.1f} | {rl:,.0f} | {r50 * 1e3:.1f} | {r99 * 1e3:.1f} |")


if __name__ == "__main__":
    main()
