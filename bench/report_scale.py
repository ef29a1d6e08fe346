#!/usr/bin/env python3
"""The HTML report of a large run: its size, and how fast headless Chromium opens it.

Builds a collection of ~100k related pairs from the dev collection (each document and nine
derived versions of it: five republications under another site's header and footer, four
excerpts of 50-90% of its paragraphs; versions of one document are far apart in the
file), scans it lexically with `retrace scan --html`, and opens the report in headless
Chromium over the DevTools protocol (`--remote-debugging-pipe`, no dependencies). The page
marks its body `data-ready` when a view is drawn and records `performance.now()` then
(`data-open-ms`: milliseconds from navigation to the first view, data inflated and
indexed). Then it times, in the open page, the stories table, a pair side by side (the
texts inflated on first use) and a search of the texts.

    python3 bench/report_scale.py [--retrace target/release/retrace] [--reps 3]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_corpus(dev, out, versions=9, seed=7):
    rnd = random.Random(seed)
    base = [json.loads(l) for l in open(dev, encoding="utf-8") if l.strip()]
    rows = []
    for v in range(versions + 1):
        for d in base:
            if v == 0:
                rows.append({"id": d["id"], "text": d["text"]})
                continue
            paras = [p for p in d["text"].split("\n\n") if p.strip()]
            if v <= 5:
                body = paras
            else:
                keep = max(1, int(len(paras) * rnd.uniform(0.5, 0.9)))
                body = paras[:keep]
            site = f"site{v}.example"
            text = (f"Republished by {site}\n\n" + "\n\n".join(body) +
                    f"\n\nRead more stories at {site}\n")
            rows.append({"id": f"{d['id']}-v{v}", "text": text})
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(rows)


class Cdp:
    """The DevTools protocol over Chromium's --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands from fd 3 and writes answers to fd 4.
        def setup():
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--disable-dev-shm-usage", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=setup, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        self.proc.wait(timeout=20)


def evaluate(cdp, session, expr):
    r = cdp.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                      "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
    return r["result"].get("value")


# Time (ms, by the page's clock) from setting the hash to the element appearing.
TIMED = """(async () => {{
  document.body.removeAttribute("data-ready");
  const t = performance.now();
  location.hash = {hash};
  while (!document.querySelector({sel}) || document.body.dataset.ready !== "1")
    await new Promise(r => setTimeout(r, 2));
  return performance.now() - t;
}})()"""


def open_report(chromium, html, pair):
    profile = tempfile.mkdtemp(prefix="report-scale-")
    cdp = Cdp(chromium, profile)
    try:
        t0 = time.time()
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        cdp.send("Page.enable", {}, session)
        t_nav = time.time()
        cdp.send("Page.navigate", {"url": "file://" + html + "#/"}, session)
        while True:
            v = evaluate(cdp, session, "document.body && document.body.dataset.ready === '1' ? document.body.dataset.openMs : null")
            if v is not None:
                break
            time.sleep(0.01)
        wall = time.time() - t_nav
        errors = evaluate(cdp, session, "document.getElementById('js-errors').textContent")
        pairs = evaluate(cdp, session, "document.getElementById('pair-count').textContent")
        timed = lambda h, s: evaluate(cdp, session, TIMED.format(hash=json.dumps(h), sel=json.dumps(s)))
        stories = timed("#/stories", "#stories-table")
        pair_ms = timed(f"#/pair/{pair}", "#side-b")
        pair2_ms = timed(f"#/pair/{pair + 1}", "#side-b")
        search = timed("#/stories?min=1&text=1&q=minister", "#stories-count")
        search2 = timed("#/stories?min=1&text=1&q=president", "#stories-count")
        return {"open_ms": int(v), "open_wall_s": round(wall, 3), "errors": errors,
                "pair_count": pairs, "stories_ms": round(stories), "pair_ms": round(pair_ms),
                "next_pair_ms": round(pair2_ms), "text_search_ms": round(search),
                "next_text_search_ms": round(search2), "browser_s": round(t_nav - t0, 3)}
    finally:
        cdp.close()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--retrace", default=os.path.join(ROOT, "target/release/retrace"))
    ap.add_argument("--dev", default=os.path.join(ROOT, "../shared/corpora/dev/docs.jsonl"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--work", default=None, help="directory for the corpus and run (default: a temp dir)")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="retrace-report-scale-")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "docs.jsonl")
    n = build_corpus(a.dev, corpus)
    run = os.path.join(work, "run")
    t = time.time()
    subprocess.run([a.retrace, "scan", corpus, "--out", run, "--encoder", "none", "-q"], check=True)
    scan_s = time.time() - t
    t = time.time()
    subprocess.run([a.retrace, "report", run], check=True, stdout=subprocess.DEVNULL)
    report_s = time.time() - t
    pairs = sum(1 for _ in open(os.path.join(run, "pairs.jsonl")))
    html = os.path.join(run, "report.html")
    size = os.path.getsize(html)
    texts = os.path.getsize(os.path.join(run, "texts.jsonl"))
    print(f"corpus: {n} documents, {texts / 1e6:.1f} MB of texts.jsonl; {pairs} pairs")
    print(f"scan {scan_s:.2f} s; report {report_s:.2f} s; report.html {size / 1e6:.1f} MB")
    runs = [open_report(a.chromium, html, pairs // 2) for _ in range(a.reps)]
    for r in runs:
        print(json.dumps(r))
    best = min(runs, key=lambda r: r["open_ms"])
    print(f"open (navigation to first view, best of {a.reps}): {best['open_ms']} ms; "
          f"median {sorted(r['open_ms'] for r in runs)[len(runs) // 2]} ms")
    ok = all(not r["errors"] and r["pair_count"] == f"{pairs:,}" for r in runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
