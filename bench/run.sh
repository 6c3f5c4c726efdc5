#!/usr/bin/env bash
# run.sh - runs every benchmark under bench/*/run.sh and collects their results tables.
#
# usage: bench/run.sh [BOTSCOPE]      (what `make bench` calls, with the release binary)
# Environment: BENCHES="ingest query ..." to run only some; BS_BENCH_OUT (default out/bench).
#
# Contract with each bench/<name>/run.sh: it is run from the source root with no argument
# (defaults chosen by the benchmark) and with BOTSCOPE (absolute path of the binary to
# measure) and BS_BENCH_OUT (out/bench/<name>, created) in its environment. Its stdout and
# stderr go to out/bench/<name>.log. Its results are BS_BENCH_OUT/results.md when it writes
# that file, otherwise the Markdown tables (lines starting with '|') of its stdout.
# Everything is collected into out/bench/RESULTS.md, which is also printed. A benchmark that
# fails is reported as such; the others still run; the exit status is 1 if any failed.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC" || exit 1
BOTSCOPE=${1:-${BOTSCOPE:-$SRC/build/release/src/cli/botscope}}
case "$BOTSCOPE" in /*) ;; *) BOTSCOPE=$SRC/$BOTSCOPE ;; esac
OUT_ROOT=${BS_BENCH_OUT:-$SRC/out/bench}
mkdir -p "$OUT_ROOT"
RESULTS=$OUT_ROOT/RESULTS.md

if [ -n "${BENCHES:-}" ]; then
    names=$BENCHES
else
    names=$(for d in "$SRC"/bench/*/run.sh; do [ -f "$d" ] && basename "$(dirname "$d")"; done)
fi

{
    echo "# botscope benchmarks"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sr), $(nproc) cores,"\
         "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo),"\
         "botscope $("$BOTSCOPE" --version 2>/dev/null | awk '{print $NF}'),"\
         "load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
} >"$RESULTS"

failed=0
for name in $names; do
    script=$SRC/bench/$name/run.sh
    [ -f "$script" ] || { echo "bench: no $script" >&2; failed=1; continue; }
    out=$OUT_ROOT/$name
    rm -rf "$out"
    mkdir -p "$out"
    echo "bench: running $name (log: $OUT_ROOT/$name.log)" >&2
    start=$(date +%s)
    BOTSCOPE=$BOTSCOPE BS_BENCH_OUT=$out bash "$script" >"$OUT_ROOT/$name.stdout" 2>"$OUT_ROOT/$name.log"
    rc=$?
    secs=$(($(date +%s) - start))
    {
        echo "## $name"
        echo
        if [ $rc -ne 0 ]; then
            echo "**failed** (exit $rc after ${secs} s); last lines of $OUT_ROOT/$name.log:"
            echo
            echo '```'
            tail -15 "$OUT_ROOT/$name.log"
            echo '```'
            failed=1
        elif [ -s "$out/results.md" ]; then
            cat "$out/results.md"
        else
            grep '^|' "$OUT_ROOT/$name.stdout" || echo "(no table printed; see $OUT_ROOT/$name.stdout)"
        fi
        echo
        echo "_${name}: ${secs} s_"
        echo
    } >>"$RESULTS"
done

cat "$RESULTS"
exit $failed
