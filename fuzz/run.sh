#!/usr/bin/env bash
# Time-boxed fuzzing of every target: fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
build=${1:-build/fuzz}; secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
# Known leaks inside system libraries (see the file) are not failures of botscope.
export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
for bin in "$build"/fuzz/fuzz_*; do
    name=$(basename "$bin"); short=${name#fuzz_}
    work=$(mktemp -d); mkdir -p "$here/corpus/$short"
    echo "== $name for ${secs}s"
    "$bin" -max_total_time="$secs" -max_len=65536 "$work" "$here/corpus/$short" || {
        echo "crash in $name: reproducer saved as crash-* (add it to the corpus and a unit test)"; exit 1; }
    rm -rf "$work"
done
