#!/usr/bin/env bash
# The screenshots of the HTML report in docs/ (README, "The HTML report"): the report of
# the seed corpus (with the default encoders installed), rendered by headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
retrace=${RETRACE:-target/release/retrace}
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
"$retrace" scan ../shared/corpora/seeds --out "$run/seeds" --html -q
shot() { # route, file, window size
  chromium --headless --disable-gpu --no-sandbox --no-first-run --disable-extensions \
    --disable-dev-shm-usage --hide-scrollbars --window-size="$3" --virtual-time-budget=10000 \
    --user-data-dir="$run/profile" --screenshot="$2" "file://$run/seeds/report.html#/$1" 2>/dev/null
}
shot "" docs/report-overview.png 1400,1250
shot "story/000_3a6c4f445c7f6ecb.txt" docs/report-story.png 1400,900
shot "pair/2" docs/report-pair.png 1400,1000
