#!/bin/bash
# run.sh - ClickHouse beside the embedded store, on the same flows, in one run:
#   1. insert rate through the store interface: bench/query/gen.c writes N flows into a
#      clickhouse:// store (writer thread, gzip RowBinary units) and into an embedded store;
#      lossless (the server's count must be N) and timed to the last flow landed (close);
#   2. sustained insert rate through the collector: `collect --read` of a simulated export
#      capture into ClickHouse (flows decoded by the collector, appended through the same
#      store interface), timed to exit, every flow checked in;
#   3. the store issue's four questions (bench/query) on both stores, best of RUNS, answers
#      compared (ClickHouse answers them with SQL pushdown);
#   4. bytes per flow on disk (segments; the flows table's active parts).
# The server is Debian's clickhouse-server started here on loopback (tests' ch_lib.sh),
# with its data under WORKDIR. Nothing leaves the machine.
#
# usage: bench/clickhouse/run.sh [N=10000000] [WORKDIR=/tmp/bs_bench_ch]
# Environment: RUNS (default 3), THREADS (embedded scan threads, default 2), SIM_SCALE and
# SIM_DURATION (the collector's capture, default 4 and 30m), KEEP=1 keeps WORKDIR.
set -eu
N=${1:-10000000}
W=${2:-/tmp/bs_bench_ch}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$W/build
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$SRC/tests/integration/clickhouse/ch_lib.sh"
rm -rf "$W/emb" "$W/ch-bench" "$W/spool" "$W/sim"
mkdir -p "$B"
CH_WORK=$W
trap 'ch_stop_all' EXIT

cmake -S "$SRC" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
ninja -C "$B" botscope bs_store bs_core >/dev/null
BOTSCOPE=$B/src/cli/botscope
cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/query/gen.c" "$B/src/store/libbs_store.a" \
    "$B/src/core/libbs_core.a" -lzstd -llz4 -lsqlite3 -lz -lcurl -lpthread -lm -o "$W/gen"

ch_start bench
U=$CH_URL_bench
C=$W/bs.conf
ch_botscope_config "$C"
printf 'spool_dir = "%s"\nclose_wait = "600s"\n' "$W/spool" >>"$C"
"$BOTSCOPE" store init --store "$U" --config "$C" >/dev/null
q() { ch_query bench "$1"; }
secs() { date +%s.%N; }

echo "generating $N flows into the embedded store and into ClickHouse..." >&2
t0=$(secs); "$W/gen" "$N" 42 0 0 "$W/emb"; t1=$(secs)
EMB_INS=$(echo "$t1 - $t0" | bc -l)
t0=$(secs); "$W/gen" "$N" 42 0 0 "$U" "$C"; t1=$(secs)
CH_INS=$(echo "$t1 - $t0" | bc -l)
got=$(q "SELECT count() FROM botscope.flows")
[ "$got" = "$N" ] || fail "ClickHouse holds $got flows of $N"

echo "collector into ClickHouse..." >&2
"$BOTSCOPE" simulate --seed 5 --scale "${SIM_SCALE:-4}" --duration "${SIM_DURATION:-30m}" --format ipfix --out "$W/sim" -q
"$BOTSCOPE" store init --store "${U%/*}/coll" --config "$C" >/dev/null
t0=$(secs); "$BOTSCOPE" collect --read "$W/sim/exports.pcap" --store "${U%/*}/coll" --config "$C" -q; t1=$(secs)
COLL_S=$(echo "$t1 - $t0" | bc -l)
"$BOTSCOPE" collect --read "$W/sim/exports.pcap" --store "$W/coll-emb" -q
COLL_N=$("$BOTSCOPE" flows --store "$W/coll-emb" --count -o ndjson | sed 's/.*"flows":\([0-9]*\).*/\1/')
got=$(q "SELECT count() FROM coll.flows")
[ "$got" = "$COLL_N" ] || fail "collector: ClickHouse holds $got flows of $COLL_N"
rm -rf "$W/coll-emb"

wall() { local a b; a=$(secs); "$@" >/dev/null 2>&1; b=$(secs); echo "$b - $a" | bc -l; }
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
declare -a Q ARGS EC CC
Q[1]="count, filter 'proto tcp and dst port 23'"; ARGS[1]="--count -o csv|proto tcp and dst port 23"
Q[2]="top 10 dst ports by flows";                  ARGS[2]="-s dstport/flows -n 10 -o csv|"
Q[3]="top 10 source /24 by bytes";                 ARGS[3]="-A srcip/24 -O bytes -n 10 -o csv|"
Q[4]="distinct sources per dst port (top 10)";     ARGS[4]="-s dstport/distinct:srcip -n 10 -o csv|"
AGREE=yes
for i in 1 2 3 4; do
    opts=${ARGS[$i]%%|*}; filt=${ARGS[$i]#*|}
    # shellcheck disable=SC2086
    emb=("$BOTSCOPE" flows --store "$W/emb" --threads "$THREADS" $opts "$filt")
    # shellcheck disable=SC2086
    ch=("$BOTSCOPE" flows --store "$U" --config "$C" $opts "$filt")
    EC[$i]=999999; CC[$i]=999999
    for _ in $(seq 1 "$RUNS"); do
        EC[$i]=$(min "$(wall "${emb[@]}")" "${EC[$i]}")
        CC[$i]=$(min "$(wall "${ch[@]}")" "${CC[$i]}")
    done
    EC[$i]=$(printf '%.3f' "${EC[$i]}"); CC[$i]=$(printf '%.3f' "${CC[$i]}")
    a=$("${emb[@]}" | sed 's/,[0-9]*$//' | grep -v '^flows'); b=$("${ch[@]}" | sed 's/,[0-9]*$//' | grep -v '^flows')
    [ "$i" = 1 ] && { a=$("${emb[@]}"); b=$("${ch[@]}"); a=${a%,*}; b=${b%,*}; }
    [ "$a" = "$b" ] || { AGREE=no; printf 'question %s differs:\n%s\n--\n%s\n' "$i" "$a" "$b" >&2; }
done
EMB_BYTES=$(find "$W/emb/flows" -name '*.seg' -printf '%s\n' | awk '{s += $1} END {print s}')
q "OPTIMIZE TABLE botscope.flows FINAL" >/dev/null || true
CH_BYTES=$(q "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'botscope' AND table = 'flows' AND active")
CH_ROLL=$(q "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'botscope' AND table = 'flows_hourly' AND active")
V=$(q "SELECT version()")

echo
echo "ClickHouse $V beside the embedded store: $N flows (bench/query/gen.c), $(nproc) cores, best of $RUNS."
echo
echo "| insert | flows | s | flows/s |"
echo "|---|---:|---:|---:|"
printf '| embedded store, store API | %s | %.2f | %.0f |\n' "$N" "$EMB_INS" "$(echo "$N / $EMB_INS" | bc -l)"
printf '| ClickHouse, store API (landed, counted) | %s | %.2f | %.0f |\n' "$N" "$CH_INS" "$(echo "$N / $CH_INS" | bc -l)"
printf '| ClickHouse, collect --read (IPFIX capture, counted) | %s | %.2f | %.0f |\n' "$COLL_N" "$COLL_S" "$(echo "$COLL_N / $COLL_S" | bc -l)"
echo
echo "| question | embedded s | ClickHouse s |"
echo "|---|---:|---:|"
for i in 1 2 3 4; do echo "| ${Q[$i]} | ${EC[$i]} | ${CC[$i]} |"; done
echo
echo "| storage | bytes | bytes/flow |"
echo "|---|---:|---:|"
printf '| embedded (zstd columnar segments) | %s | %.2f |\n' "$EMB_BYTES" "$(echo "$EMB_BYTES / $N" | bc -l)"
printf '| ClickHouse flows table (LZ4, after OPTIMIZE FINAL) | %s | %.2f |\n' "$CH_BYTES" "$(echo "$CH_BYTES / $N" | bc -l)"
printf '| ClickHouse hourly roll-up (flows_hourly) | %s | %.2f |\n' "$CH_ROLL" "$(echo "$CH_ROLL / $N" | bc -l)"
echo
echo "Same answers from both stores: $AGREE"
[ "${KEEP:-0}" = 1 ] || rm -rf "$W/emb" "$W/ch-bench" "$W/spool" "$W/sim"
