#!/usr/bin/env bash
# Detection speed: feature extraction (detect's passes: the client pass on the scan threads,
# the pair and server passes over the kept records, and the judging of seed pairs; the
# "features" time of detect's summary) in flows/s of wall time with the store's two scan
# threads and on one core (a run with [store] scan_threads = 1: the per-core floor, 5 M
# flows/s), and a whole `botscope detect` beside `botscope flows -A dstip,dstport` over the
# same store in the same run (issue floor: detect <= 3x the aggregation).
# The store holds a simulated world's exports at SCALE (44: about 10 M flow records an hour)
# collected through `botscope collect --read`, the seeds are the telescope's infected sources.
#   bash bench/detect/speed.sh [BOTSCOPE] [WORKDIR]
# Also the store scan of detect's columns alone (bench/detect/scan_floor.c, bs-scan-floor): the
# CPU that reading the store costs before detection does anything.
# Environment: SCALE (44), RUNS (best of, 3), KEEP=1 reuses WORKDIR's store.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$src/build/release/src/cli/botscope}
FLOOR=${FLOOR:-$(dirname "$B")/../../bench/bs-scan-floor}
W=${2:-/tmp/bs_bench_detect}
SCALE=${SCALE:-44}
RUNS=${RUNS:-3}
mkdir -p "$W"
if [ "${KEEP:-0}" != 1 ] || [ ! -d "$W/store" ]; then
    rm -rf "$W/world" "$W/store" "$W/tel"
    "$B" simulate --seed 11 --scale "$SCALE" --out "$W/world" >&2
    "$B" collect --read "$W/world/exports.pcap" --store "$W/store" >/dev/null 2>&1
    "$B" telescope --read "$W/world/darknet.pcap" --darknet 25.240.0.0/20 --out "$W/tel" \
        >/dev/null 2>&1
    rm -f "$W/world/exports.pcap" "$W/world/darknet.pcap"
fi
flows=$("$B" flows --store "$W/store" --count -o csv 2>/dev/null | tail -1 | cut -d, -f1)
best() { sort -n | head -1; }
printf '[store]\nscan_threads = 1\n' >"$W/one.conf"
tq=(); td=(); ts=(); tc=(); tf=(); t1=()
for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N)
    "$B" flows --store "$W/store" -A dstip,dstport -n 10 -q >/dev/null 2>&1
    e=$(date +%s.%N)
    tq+=("$(echo "$e - $s" | bc)")
    s=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$W/detect.cpu" "$B" detect --store "$W/store" \
        --seeds "$W/tel/sources.ndjson" --no-state -o ndjson >"$W/cand.ndjson" 2>"$W/detect.err"
    e=$(date +%s.%N)
    td+=("$(echo "$e - $s" | bc)")
    tc+=("$(awk '{print $1 + $2}' "$W/detect.cpu")")
    ts+=("$(sed -n 's/.*features \([0-9.]*\)s.*/\1/p' "$W/detect.err")")
    "$B" detect --config "$W/one.conf" --store "$W/store" --seeds "$W/tel/sources.ndjson" \
        --no-state -o ndjson >/dev/null 2>"$W/detect1.err"
    t1+=("$(sed -n 's/.*features \([0-9.]*\)s.*/\1/p' "$W/detect1.err")")
    tf+=("$("$FLOOR" "$W/store" 2>/dev/null | cut -d' ' -f3)")
done
q=$(printf '%s\n' "${tq[@]}" | best)
dd=$(printf '%s\n' "${td[@]}" | best)
sc=$(printf '%s\n' "${ts[@]}" | best)
cpu=$(printf '%s\n' "${tc[@]}" | best)
fl=$(printf '%s\n' "${tf[@]}" | best)
one=$(printf '%s\n' "${t1[@]}" | best)
echo "| flows | flows -A dstip,dstport | detect (whole) | ratio | feature extraction, 2 threads (wall) | feature extraction, 1 core | detect CPU (user+sys) | flows per CPU second | store scan alone (CPU) | candidates |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '| %s | %.2f s | %.2f s | %.2f | %.2f s, %.1f M flows/s | %.2f s, %.1f M flows/s | %.2f s | %.1f M | %.2f s, %.1f M flows/s | %s |\n' \
    "$flows" "$q" "$dd" "$(echo "$dd / $q" | bc -l)" "$sc" \
    "$(echo "$flows / $sc / 1000000" | bc -l)" "$one" "$(echo "$flows / $one / 1000000" | bc -l)" \
    "$cpu" "$(echo "$flows / $cpu / 1000000" | bc -l)" \
    "$fl" "$(echo "$flows / $fl / 1000000" | bc -l)" "$(wc -l <"$W/cand.ndjson")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$W/detect.err" >&2
