#!/usr/bin/env bash
# Telescope throughput: packets per second per core of `botscope telescope` on an offline pcap
# of PACKETS packets (default 10 M), next to libpcap's raw read rate on the same file
# (`tcpdump -r FILE -w /dev/null 'tcp or udp'`), in the same run, each pinned to one core,
# alternating, best of RUNS (default 3) each. The captures are generated here by `botscope
# telescope --synth --scenario bench` (never committed) for three source populations:
#   uniform  PACKETS/8 sources, uniformly random (worst case for the source table: every
#            packet touches a random profile among 1 M (the cap), 128 MB of profiles)
#   zipf     a pool of 1 M sources with heavy-tailed popularity (darknet-like)
#   hot      10 000 sources (everything in cache: the per-packet compute cost)
# Each capture holds a scan/backscatter/UDP/ICMP mix over one hour into a /16 darknet, with
# 10 % of packets outside it. CPU time (user+sys) is what "per core" divides by; wall time
# is printed too. Not part of the test suite.
# Usage: bench/telescope/run.sh            (env: PACKETS, RUNS, BUILD_DIR, WORK, SCENARIOS)
# Your own captures: CAPTURES="a.pcap b.pcap" DARKNET=PREFIX SCENARIOS= bench/telescope/run.sh
# measures those files the same way (packet count from botscope's provenance).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$SRC/build/bench-release}
N=${PACKETS:-10000000}
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS-uniform zipf hot}
CAPTURES=${CAPTURES:-}
DARK=${DARKNET:-198.18.0.0/16}
W=${WORK:-$(mktemp -d /tmp/bs-tel-bench.XXXXXX)}
KEEP=${WORK:+1}
cleanup() { [ -n "$KEEP" ] || rm -rf "$W"; }
trap cleanup EXIT
command -v tcpdump >/dev/null || { echo "tcpdump is needed" >&2; exit 1; }
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"

cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
ninja -C "$BUILD" botscope >/dev/null
BS="$BUILD/src/cli/botscope"

timed() { # runs "$@" under /usr/bin/time, output discarded, timing on stderr
    /usr/bin/time -f "%U %S %e" "$@" >/dev/null 2>"$W/time.err" || { cat "$W/time.err" >&2; exit 1; }
    tail -1 "$W/time.err"
}

cpu_of() { awk -v u="$1" -v s="$2" 'BEGIN { print u + s }'; }
lower() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b == "" || a < b) }'; }

# The reference and botscope alternate, RUNS times each, so both see the same spells of load
# on a shared machine; the best CPU time of each is kept (and botscope's wall, user and system
# times of that run: on a virtual machine the system time, mostly first touch of fresh memory,
# is what moves from run to run).
raw_cpu="" bs_cpu="" bs_wall="" bs_user="" bs_sys=""
pair() { # pair FILE OUTDIR
    local u s e cpu
    for _ in $(seq "$RUNS"); do
        read -r u s e <<<"$(timed $PIN tcpdump -r "$1" -w /dev/null 'tcp or udp')"
        cpu=$(cpu_of "$u" "$s")
        lower "$cpu" "$raw_cpu" && raw_cpu=$cpu
        rm -rf "$2"
        read -r u s e <<<"$(timed $PIN "$BS" telescope --read "$1" --darknet "$DARK" --out "$2")"
        cpu=$(cpu_of "$u" "$s")
        if lower "$cpu" "$bs_cpu"; then bs_cpu=$cpu; bs_wall=$e; bs_user=$u; bs_sys=$s; fi
    done
}

printf 'botscope %s, %s packets per capture, best of %s, load before: %s\n' \
    "$("$BS" --version 2>/dev/null | head -1 || echo '?')" "$N" "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %14s %14s %14s %8s %8s %8s\n' scenario libpcap_pps botscope_pps botscope_wall_pps \
    sources ratio user_s sys_s
report() { # report NAME PACKETS
    local srcs
    srcs=$(jq '.counters.sources_written' "$W/out/provenance.json" 2>/dev/null || echo '?')
    awk -v sc="$1" -v n="$2" -v rc="$raw_cpu" -v bc="$bs_cpu" -v bw="$bs_wall" -v s="$srcs" \
        -v bu="$bs_user" -v bs="$bs_sys" \
        'BEGIN { printf "%-8s %14.0f %14.0f %14.0f %14s %8.2f %8.2f %8.2f\n", sc, n / rc, n / bc, n / bw, s, rc / bc, bu, bs }'
}

for sc in $SCENARIOS; do
    case $sc in
    uniform) opts=(--sources $((N / 8))) ;;
    zipf) opts=(--sources 1000000 --zipf) ;;
    hot) opts=(--sources 10000) ;;
    *) echo "unknown scenario $sc" >&2; exit 2 ;;
    esac
    F="$W/$sc.pcap"
    "$BS" telescope --synth "$F" --scenario bench --packets "$N" "${opts[@]}" --darknet "$DARK"
    cat "$F" >/dev/null # page cache warm for both readers
    raw_cpu="" bs_cpu="" bs_wall="" bs_user="" bs_sys=""
    pair "$F" "$W/out"
    report "$sc" "$N"
    rm -f "$F"
done
for F in $CAPTURES; do
    cat "$F" >/dev/null
    raw_cpu="" bs_cpu="" bs_wall="" bs_user="" bs_sys=""
    pair "$F" "$W/out"
    report "$(basename "$F")" "$(jq '.counters.packets_read' "$W/out/provenance.json")"
done
echo "ratio = botscope_pps / libpcap_pps (floor: 0.5); floors: botscope_pps >= 5000000;" \
    "user_s/sys_s: botscope's user and system CPU seconds in its best run"
