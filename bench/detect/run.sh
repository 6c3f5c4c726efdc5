#!/usr/bin/env bash
# C&C detection benchmarks, as `make bench` (bench/run.sh) runs them: speed.sh (detect against
# `flows -A dstip,dstport` on a 10.9 M-flow simulated store, with the store scan alone beside
# it) and eval.sh (precision, recall and delay on the simulated worlds and the c2-dev
# captures). Both print Markdown tables; docs/PERFORMANCE.md and docs/DETECTION.md hold the
# published ones. Work directories under BS_BENCH_OUT (default /tmp).
#   bench/detect/run.sh        (env: BOTSCOPE, the binary to measure; SCALE, RUNS as speed.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
B=${BOTSCOPE:-$src/build/release/src/cli/botscope}
out=${BS_BENCH_OUT:-/tmp}
mkdir -p "$out"
echo "## C&C detection speed"
bash "$here/speed.sh" "$B" "$out/detect-speed"
echo
echo "## C&C detection quality"
bash "$here/eval.sh" "$B" "$out/detect-eval"
