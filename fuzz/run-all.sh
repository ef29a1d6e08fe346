#!/usr/bin/env bash
# Run every fuzz target in turn, one process on one core, for SECONDS each (default 600),
# logging to fuzz/logs/<target>.log (the libFuzzer job's output, with its final stats).
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]   (needs nightly and cargo-fuzz)
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
# One core: the readers' rayon pools get one thread.
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jsonl html segment fasttext npz e5 sentencepiece safetensors)
mkdir -p logs
: >logs/summary
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  start=$(date +%s)
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -jobs=1 -workers=1 \
    -rss_limit_mb=2048 -print_final_stats=1 >"logs/$t.run" 2>&1
  rc=$?
  cat fuzz-0.log >"logs/$t.log" 2>/dev/null
  rm -f fuzz-0.log
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*$')
  echo "$t: rc=$rc seconds=$(( $(date +%s) - start )) executions=${runs:-?}" | tee -a logs/summary
done
