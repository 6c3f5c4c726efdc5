#!/bin/bash
# run.sh - query benchmark: botscope's embedded store against nfdump 1.7 on the same flows.
#
# Generates N flows once (bench/query/gen.c, deterministic), sends them as NetFlow v5 over
# loopback to nfcapd (LZ4 files) and writes the same records into a botscope store, then asks
# both tools the same four questions and prints a Markdown table of wall time, records/s and
# bytes per flow (nfdump LZ4 as captured, LZO as rewritten by nfdump -z).
#
# usage: bench/query/run.sh [N=10000000] [WORKDIR=/tmp/bs_bench_query]
# Environment: RATE (v5 datagrams/s sent to nfcapd, default 8000 with a 4 MB socket buffer: faster loses datagrams
# in nfcapd on this machine), THREADS (botscope scan
# threads, default 2), RUNS (timed repetitions, best kept, default 3), KEEP=1 keeps WORKDIR's
# data, REUSE=1 times the queries again on the data a KEEP=1 run left there (same N; the
# current tree is rebuilt, nothing is generated), QUESTIONS (default "1 2 3 4": which to ask).
# Loopback only; nothing leaves the machine.
set -eu
N=${1:-10000000}
W=${2:-/tmp/bs_bench_query}
RATE=${RATE:-8000}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
QUESTIONS=${QUESTIONS:-1 2 3 4}
PORT=${PORT:-39555}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$W/build
REUSING=0
if [ "${REUSE:-0}" = 1 ] && [ -d "$W/nf" ] && [ -d "$W/nf-lzo" ] && [ -d "$W/bs" ]; then
    REUSING=1
else
    [ "${REUSE:-0}" = 1 ] && echo "nothing to reuse in $W: generating" >&2
    rm -rf "$W/nf" "$W/nf-lzo" "$W/bs"
fi
mkdir -p "$W/nf" "$W/nf-lzo" "$B"

cmake -S "$SRC" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
ninja -C "$B" botscope bs_store bs_core >/dev/null
BOTSCOPE=$B/src/cli/botscope
if [ "$REUSING" = 0 ]; then
    cc -O2 -std=c17 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/query/gen.c" "$B/src/store/libbs_store.a" \
        "$B/src/core/libbs_core.a" -lzstd -llz4 -lsqlite3 -lz -ldeflate -lcurl -lpthread -lm -o "$W/gen"

    nfcapd -w "$W/nf" -p "$PORT" -b 127.0.0.1 -y -t 3600 -B 4000000 >"$W/nfcapd.log" 2>&1 &
    NFPID=$!
    trap 'kill $NFPID 2>/dev/null || true' EXIT
    sleep 1
    echo "generating $N flows (v5 to nfcapd at $RATE datagrams/s, and into the store)..." >&2
    "$W/gen" "$N" 42 "$PORT" "$RATE" "$W/bs"
    sleep 2
    kill $NFPID
    wait $NFPID 2>/dev/null || true
    trap - EXIT
fi
NF_FLOWS=$(nfdump -R "$W/nf" -o null 2>/dev/null | awk -F'[:,]' '/^Summary/ {gsub(/ /,"",$3); print $3}')
echo "nfcapd stored $NF_FLOWS flows of $N" >&2
[ "$NF_FLOWS" = "$N" ] || { echo "nfcapd lost flows: lower RATE (or N is not the reused data's)" >&2; exit 1; }
[ "$REUSING" = 1 ] || nfdump -R "$W/nf" -z -w "$W/nf-lzo/nfcapd.lzo" >/dev/null

size() { du -sb "$1" | awk '{print $1}'; }
BS_BYTES=$(find "$W/bs/flows" -name '*.seg' -printf '%s\n' | awk '{s += $1} END {print s}')
NF_LZ4=$(size "$W/nf")
NF_LZO=$(size "$W/nf-lzo")

# wall time in seconds of one run of "$@" (output discarded)
wall() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
nf_distinct() { nfdump -R "$W/nf" -q -A dstport,srcip -o csv | awk -F, 'NR > 0 {c[$7]++} END {for (p in c) print c[p], p}' | sort -rn | head -10; }

declare -a Q NFC BSC
Q[1]="count, filter 'proto tcp and dst port 23'"
Q[2]="top 10 dst ports by flows"
Q[3]="top 10 source /24 by bytes"
Q[4]="distinct sources per dst port (top 10)"
for i in $QUESTIONS; do
    case $i in
    1) nf=(nfdump -R "$W/nf" -o null 'proto tcp and dst port 23')
       bs=("$BOTSCOPE" flows --store "$W/bs" --threads "$THREADS" --count 'proto tcp and dst port 23') ;;
    2) nf=(nfdump -R "$W/nf" -s dstport/flows -n 10 -q)
       bs=("$BOTSCOPE" flows --store "$W/bs" --threads "$THREADS" -s dstport/flows -n 10 -q) ;;
    3) nf=(nfdump -R "$W/nf" -A srcip4/24 -O bytes -n 10 -q)
       bs=("$BOTSCOPE" flows --store "$W/bs" --threads "$THREADS" -A srcip/24 -O bytes -n 10 -q) ;;
    4) nf=(nf_distinct)
       bs=("$BOTSCOPE" flows --store "$W/bs" --threads "$THREADS" -s dstport/distinct:srcip -n 10 -q) ;;
    esac
    # The two tools take turns, so that other load on the machine meets both alike.
    NFC[$i]=999999
    BSC[$i]=999999
    for _ in $(seq 1 "$RUNS"); do
        NFC[$i]=$(min "$(wall "${nf[@]}")" "${NFC[$i]}")
        BSC[$i]=$(min "$(wall "${bs[@]}")" "${BSC[$i]}")
    done
    NFC[$i]=$(printf '%.3f' "${NFC[$i]}")
    BSC[$i]=$(printf '%.3f' "${BSC[$i]}")
    echo "== $i: ${Q[$i]}" >&2
    "${bs[@]}" 2>&1 | head -12 >&2
done

# Both tools must give the same answers: flows matched (1), the ten /24 prefixes and their
# bytes (3), the ten ports and their distinct source counts (4). Ties may list in another
# order, so the lists are compared sorted.
AGREE=yes
has() { case " $QUESTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
if has 1; then
    a1=$(nfdump -R "$W/nf" -o null 'proto tcp and dst port 23' | awk -F'[:,]' '/^Summary/ {gsub(/ /,"",$3); print $3}')
    b1=$("$BOTSCOPE" flows --store "$W/bs" --count 'proto tcp and dst port 23' | awk -F'[:,]' '/^Summary/ {gsub(/ /,"",$3); print $3}')
    [ -n "$a1" ] && [ "$a1" = "$b1" ] || { AGREE=no; echo "question 1 differs: nfdump $a1, botscope $b1" >&2; }
fi
if has 3; then
    a3=$(nfdump -R "$W/nf" -A srcip4/24 -O bytes -n 10 -q -o csv | awk -F, '/^[0-9]/ {print $4, $13}' | sort)
    b3=$("$BOTSCOPE" flows --store "$W/bs" -A srcip/24 -O bytes -n 10 -o csv | awk -F, 'NR > 1 {sub(/\/24$/, "", $1); print $1, $4}' | sort)
    [ -n "$a3" ] && [ "$a3" = "$b3" ] || { AGREE=no; printf 'question 3 differs:\nnfdump\n%s\nbotscope\n%s\n' "$a3" "$b3" >&2; }
fi
if has 4; then
    a4=$(nf_distinct | sort)
    b4=$("$BOTSCOPE" flows --store "$W/bs" -s dstport/distinct:srcip -n 10 -o csv | awk -F, 'NR > 1 {print $5, $1}' | sort)
    [ -n "$a4" ] && [ "$a4" = "$b4" ] || { AGREE=no; printf 'question 4 differs:\nnfdump\n%s\nbotscope\n%s\n' "$a4" "$b4" >&2; }
fi

echo
echo "Query benchmark: $N flows (NetFlow v5 shaped, 1 exporter), $(nproc) cores, best of $RUNS runs."
echo
echo "| question | nfdump 1.7.1 s | nfdump Mrec/s | botscope s | botscope Mrec/s | speed-up |"
echo "|---|---:|---:|---:|---:|---:|"
for i in $QUESTIONS; do
    echo "| ${Q[$i]} | ${NFC[$i]} | $(echo "$N / ${NFC[$i]} / 1000000" | bc -l | xargs printf '%.1f') | ${BSC[$i]} | $(echo "$N / ${BSC[$i]} / 1000000" | bc -l | xargs printf '%.1f') | $(echo "${NFC[$i]} / ${BSC[$i]}" | bc -l | xargs printf '%.1fx') |"
done
echo
echo "| storage | bytes | bytes/flow |"
echo "|---|---:|---:|"
echo "| nfdump LZ4 (nfcapd -y) | $NF_LZ4 | $(echo "$NF_LZ4 / $N" | bc -l | xargs printf '%.2f') |"
echo "| nfdump LZO (nfdump -z) | $NF_LZO | $(echo "$NF_LZO / $N" | bc -l | xargs printf '%.2f') |"
echo "| botscope (columnar, [store] compression = auto) | $BS_BYTES | $(echo "$BS_BYTES / $N" | bc -l | xargs printf '%.2f') |"
echo
echo "Same answers from both tools (questions 1, 3, 4 among those asked): $AGREE"
[ "${KEEP:-0}" = 1 ] || [ "$REUSING" = 1 ] || rm -rf "$W/nf" "$W/nf-lzo" "$W/bs"
[ "$AGREE" = yes ]
