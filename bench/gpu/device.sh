#!/usr/bin/env bash
# GPU check and benchmark of retrace's transformer encoders, run on a machine with an NVIDIA
# GPU. It needs the retrace binary built with `--features cuda,hf`, the e5-small model file
# (see prune_e5.py for the copy that travels) and sentence files; everything is passed in
# one folder:
#   DIR/retrace  DIR/e5.xz (xz of the model file)  DIR/installed.json  DIR/tatoeba.txt  DIR/dev.txt
# usage: bench/gpu/device.sh DIR OUT_DIR [GOLDEN_JSONL]
set -uo pipefail
DIR="$1"; OUT="$2"; GOLDEN="${3:-$DIR/golden.jsonl}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
export RETRACE_MODEL_DIR=/tmp/retrace-models
mkdir -p "$RETRACE_MODEL_DIR/e5-small"
python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
  "$DIR/e5.xz" "$RETRACE_MODEL_DIR/e5-small/e5-small-q4.bin"
cp "$DIR/installed.json" "$RETRACE_MODEL_DIR/e5-small/"
# cuBLAS and NVRTC from the CUDA toolkit or from the pip wheels, whichever is there.
for lib in libcublas.so libnvrtc.so; do
  d=$(dirname "$(find /usr/local/cuda*/ /usr/lib/x86_64-linux-gnu /opt -name "$lib*" -not -path "*stubs*" 2>/dev/null | head -1)")
  [ -n "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
chmod +x "$DIR/retrace"
echo "hello world" | "$DIR/retrace" embed --model e5-small --device cuda --stats --discard || exit 1
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/check.py" "$DIR/retrace" "$GOLDEN" "$OUT" "$DIR/tatoeba.txt" "$DIR/dev.txt"
