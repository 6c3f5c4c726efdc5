#!/bin/bash
# run.sh - ClickHouse beside the embedded store, on the same flows, in one run:
#   1. insert rate through the store interface: bench/query/gen.c writes N flows into a
#      clickhouse:// store (writer thread, gzip RowBinary units) and into an embedded store;
#      lossless (the server's count must be N) and timed to the last flow landed (close);
#   2. insert rate through the collector: `collect --read` of a simulated export capture into
#      ClickHouse (flows decoded by the collector, appended through the same store
#      interface), timed to exit, every flow checked in;
#   3. sustained lossless rate of the live collector: bench/ingest's sender offers NetFlow v9
#      over UDP on loopback to `botscope collect --listen ... --store clickhouse://...` at
#      rising rates (LIVE_STEPS, STEP_SECONDS each). A step passes when every flow sent is in
#      ClickHouse, no insert unit went to the spool during the step (the server kept up), and
#      the collector, stopped when the sender ends, has landed the rest within DRAIN_MAX
#      seconds (its in-memory queue of 4 units of 500,000 flows could otherwise hide a server
#      slower than the offered rate for a while). The highest passing rate is the result, as
#      bench/ingest/run.sh finds its lossless rate. Then the same with two shards (two
#      servers, a Distributed table over them) and one collector writing to each, both
#      offered the step's rate: the cluster's rate is the sum;
#   4. the store issue's four questions (bench/query) on both stores, best of RUNS, answers
#      compared (ClickHouse answers them with SQL pushdown);
#   5. bytes per flow on disk (segments; the flows table's active parts), with the server's
#      default LZ4 and with ZSTD (the server restarted with a <compression> section and the
#      table copied and merged under it; the parts' compression method byte is checked).
# The server is Debian's clickhouse-server started here on loopback (tests' ch_lib.sh),
# with its data under WORKDIR. Nothing leaves the machine.
#
# usage: bench/clickhouse/run.sh [N=10000000] [WORKDIR=/tmp/bs_bench_ch]
# Environment: RUNS (default 3), THREADS (embedded scan threads, default 2), SIM_SCALE and
# SIM_DURATION (the collector's capture, default 4 and 30m), LIVE_STEPS (offered flows/s per
# collector, default 10000 20000 40000 60000 80000 100000 150000 200000), STEP_SECONDS (30),
# DRAIN_MAX (10), LIVE=0 skips part 3, KEEP=1 keeps WORKDIR.
set -eu
N=${1:-10000000}
W=${2:-/tmp/bs_bench_ch}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$W/build
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$SRC/tests/integration/clickhouse/ch_lib.sh"
rm -rf "$W/emb" "$W/ch-bench" "$W/ch-s1" "$W/ch-s2" "$W/spool" "$W/sim"
mkdir -p "$B"
CH_WORK=$W
trap 'ch_stop_all' EXIT
[ -z "${CH_COMPRESSION:-}" ] || fail "unset CH_COMPRESSION: the first measure is the server's default"

cmake -S "$SRC" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
ninja -C "$B" botscope bs_store bs_core >/dev/null
BOTSCOPE=$B/src/cli/botscope
cc -O2 -std=c17 -D_GNU_SOURCE -o "$W/sender" "$SRC/bench/ingest/sender.c" -lpcap
cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/query/gen.c" "$B/src/store/libbs_store.a" \
    "$B/src/core/libbs_core.a" -lzstd -llz4 -lsqlite3 -lz -ldeflate -lcurl -lpthread -lm -o "$W/gen"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
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


# ---- 3. the live collector over UDP, one node and two shards --------------------------
free_udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_bound() { local i; for ((i = 0; i < 100; i++)); do ss -Huln "sport = :$1" | grep -q . && return 0; sleep 0.1; done; return 1; }
jfield() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }
# live_step RATE SERVER...: one collector per server (its local flows table, a fresh
# database), each offered RATE; sets L_SENT L_KEPT L_ACH L_SPOOLED L_DRAIN L_OK.
live_step() {
    local rate=$1; shift
    local n i=0 pids=() ports=() urls=() dbs=() conf db port spids=() t_end t_exit wpid
    rm -rf "$W/spool"
    for n in "$@"; do
        db=live_${rate}_$i
        conf=$W/live$i.conf
        cp "$C" "$conf"
        [ $# -gt 1 ] && echo 'cluster = "botscope"' >>"$conf"
        local hv="CH_HTTP_$n"
        urls+=("clickhouse://127.0.0.1:${!hv}/$db"); dbs+=("$n:$db")
        "$BOTSCOPE" store init --store "${urls[$i]}" --config "$conf" >/dev/null
        port=$(free_udp); ports+=("$port")
        "$BOTSCOPE" collect --listen "127.0.0.1:$port" --store "${urls[$i]}" --config "$conf" -v \
            --stats-interval 5s >"$W/live$i.log" 2>&1 &
        pids+=($!)
        wait_bound "$port" || fail "collector $i did not bind: $(tail -3 "$W/live$i.log")"
        i=$((i + 1))
    done
    # Any spool file during the step means an insert unit did not go straight to the server.
    ( while :; do ls "$W"/spool/*/*.spool >/dev/null 2>&1 && touch "$W/spooled"; sleep 0.2; done ) &
    wpid=$!
    rm -f "$W/spooled"
    for i in "${!ports[@]}"; do
        "$W/sender" --port "${ports[$i]}" --rate "$rate" --duration "$STEP_SECONDS" \
            --exporters 2 --records 30 >"$W/sent$i.json" 2>/dev/null &
        spids+=($!)
    done
    for p in "${spids[@]}"; do wait "$p" || fail "sender exited with $?"; done
    t_end=$(secs)
    for p in "${pids[@]}"; do kill -TERM "$p"; done
    for p in "${pids[@]}"; do wait "$p" || echo "collector exited with $? (see $W/live*.log)" >&2; done
    t_exit=$(secs)
    kill "$wpid"; wait "$wpid" 2>/dev/null || true
    L_SENT=0; L_KEPT=0; L_ACH=0
    for i in "${!ports[@]}"; do
        local j; j=$(cat "$W/sent$i.json")
        L_SENT=$((L_SENT + $(jfield "$j" flows)))
        L_ACH=$(echo "$L_ACH + $(jfield "$j" achieved_flows_per_s)" | bc -l)
        L_KEPT=$((L_KEPT + $(ch_query "${dbs[$i]%%:*}" "SELECT count() FROM ${dbs[$i]#*:}.flows")))
    done
    L_SPOOLED=no; [ -e "$W/spooled" ] && L_SPOOLED=yes
    L_DRAIN=$(printf '%.1f' "$(echo "$t_exit - $t_end" | bc -l)")
    L_OK=no
    [ "$L_KEPT" = "$L_SENT" ] && [ "$L_SPOOLED" = no ] && [ "$(echo "$L_DRAIN <= $DRAIN_MAX" | bc -l)" = 1 ] && L_OK=yes
    for i in "${!dbs[@]}"; do ch_query "${dbs[$i]%%:*}" "DROP DATABASE ${dbs[$i]#*:}" >/dev/null; done
    return 0
}
# live_ladder LABEL SERVER...: prints step rows to $W/steps.md, sets LIVE_BEST.
live_ladder() {
    local label=$1; shift
    LIVE_BEST=0; LIVE_NOTE="lossless at every step (limit not reached)"
    for rate in $LIVE_STEPS; do
        live_step "$rate" "$@"
        echo "| $label | $rate x $# | $L_SENT | $(printf '%.0f' "$L_ACH") | $L_KEPT | $((L_SENT - L_KEPT)) | $L_SPOOLED | $L_DRAIN | $L_OK |" >>"$W/steps.md"
        echo "live $label @ $rate x $#: sent $L_SENT kept $L_KEPT spooled $L_SPOOLED drain $L_DRAIN s: $L_OK" >&2
        if [ "$L_OK" != yes ]; then LIVE_NOTE="first failing step $rate x $#"; break; fi
        LIVE_BEST=$((rate * $#))
    done
}
LIVE_STEPS=${LIVE_STEPS:-10000 20000 40000 60000 80000 100000 150000 200000}
STEP_SECONDS=${STEP_SECONDS:-30}
DRAIN_MAX=${DRAIN_MAX:-10}
: >"$W/steps.md"
if [ "${LIVE:-1}" = 1 ]; then
    echo "live collector into one node..." >&2
    live_ladder "one node" bench
    ONE_BEST=$LIVE_BEST; ONE_NOTE=$LIVE_NOTE
    echo "live collectors into two shards..." >&2
    ch_start s1 s1 s2
    ch_start s2 s1 s2
    live_ladder "two shards" s1 s2
    TWO_BEST=$LIVE_BEST; TWO_NOTE=$LIVE_NOTE
    ch_stop s1; ch_stop s2
fi

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

# ---- 5b. the same flows under ZSTD: the server restarted with a <compression> section, the
# table copied (INSERT SELECT writes new parts) and merged into one part per day.
ch_stop bench
CH_COMPRESSION=zstd ch_write_config "$CH_WORK/ch-bench" "$CH_HTTP_bench" "$CH_TCP_bench" "$CH_INTER_bench"
ch_restart bench
q "CREATE TABLE botscope.flows_zstd AS botscope.flows" >/dev/null
q "INSERT INTO botscope.flows_zstd SELECT * FROM botscope.flows" >/dev/null
q "OPTIMIZE TABLE botscope.flows_zstd FINAL" >/dev/null || true
[ "$(q "SELECT count() FROM botscope.flows_zstd")" = "$N" ] || fail "ZSTD copy incomplete"
CH_ZBYTES=$(q "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'botscope' AND table = 'flows_zstd' AND active")
# A compressed block starts with a 16-byte checksum and a method byte: 0x90 ZSTD, 0x82 LZ4.
zbin=$(find "$CH_WORK/ch-bench/data/data/botscope/flows_zstd" -name 'src.bin' | head -1)
[ "$(od -An -tx1 -j16 -N1 "$zbin" | tr -d ' ')" = 90 ] || fail "flows_zstd parts are not ZSTD ($zbin)"
lbin=$(find "$CH_WORK/ch-bench/data/data/botscope/flows" -name 'src.bin' | head -1)
[ "$(od -An -tx1 -j16 -N1 "$lbin" | tr -d ' ')" = 82 ] || fail "flows parts are not LZ4 ($lbin)"
V=$(q "SELECT version()")

echo
echo "ClickHouse $V beside the embedded store: $N flows (bench/query/gen.c), $(nproc) cores, best of $RUNS."
echo "Load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| insert | flows | s | flows/s |"
echo "|---|---:|---:|---:|"
printf '| embedded store, store API | %s | %.2f | %.0f |\n' "$N" "$EMB_INS" "$(echo "$N / $EMB_INS" | bc -l)"
printf '| ClickHouse, store API (landed, counted) | %s | %.2f | %.0f |\n' "$N" "$CH_INS" "$(echo "$N / $CH_INS" | bc -l)"
printf '| ClickHouse, collect --read (IPFIX capture, counted) | %s | %.2f | %.0f |\n' "$COLL_N" "$COLL_S" "$(echo "$COLL_N / $COLL_S" | bc -l)"
if [ "${LIVE:-1}" = 1 ]; then
    echo
    echo "| live collector (NetFlow v9 over UDP, ${STEP_SECONDS} s steps) | highest sustained lossless flows/s | notes |"
    echo "|---|---:|---|"
    echo "| one node, one collector | $ONE_BEST | $ONE_NOTE |"
    echo "| two shards, two collectors (sum) | $TWO_BEST | $TWO_NOTE |"
    echo
    echo "| setup | offered flows/s | sent | achieved (sum) | in ClickHouse | lost | spooled | drain s | passes |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|---|"
    cat "$W/steps.md"
fi
echo
echo "| question | embedded s | ClickHouse s |"
echo "|---|---:|---:|"
for i in 1 2 3 4; do echo "| ${Q[$i]} | ${EC[$i]} | ${CC[$i]} |"; done
echo
echo "| storage | bytes | bytes/flow |"
echo "|---|---:|---:|"
printf '| embedded (zstd columnar segments) | %s | %.2f |\n' "$EMB_BYTES" "$(echo "$EMB_BYTES / $N" | bc -l)"
printf '| ClickHouse flows table (LZ4, after OPTIMIZE FINAL) | %s | %.2f |\n' "$CH_BYTES" "$(echo "$CH_BYTES / $N" | bc -l)"
printf '| ClickHouse flows table (server <compression> ZSTD, after OPTIMIZE FINAL) | %s | %.2f |\n' "$CH_ZBYTES" "$(echo "$CH_ZBYTES / $N" | bc -l)"
printf '| ClickHouse hourly roll-up (flows_hourly) | %s | %.2f |\n' "$CH_ROLL" "$(echo "$CH_ROLL / $N" | bc -l)"
echo
echo "Same answers from both stores: $AGREE"
[ "${KEEP:-0}" = 1 ] || rm -rf "$W/emb" "$W/ch-bench" "$W/ch-s1" "$W/ch-s2" "$W/spool" "$W/sim"
