#!/usr/bin/env bash
# run.sh - ingest benchmark: the highest lossless NetFlow v9 rate of botscope, nfcapd and
# nfacctd on this machine, in the same run, with the same sender.
#
# usage: bench/ingest/run.sh [BOTSCOPE]
# Environment (all optional):
#   BOTSCOPE      the botscope binary (default: $1, else build/release/src/cli/botscope)
#   SENDER        bs-ingest-sender (default: next to BOTSCOPE's build, else compiled here)
#   BS_BENCH_OUT  where results.md and the logs go (default out/bench/ingest)
#   TOOLS         "botscope nfcapd nfacctd sink"
#   STEPS         offered rates in flows/s (default 100k 250k 500k 750k 1M 1.5M 2M 2.5M 3M
#                 4M 5M 6M 8M)
#   STEP_SECONDS  sending time per step (10)
#   EXPORTERS     sending sockets = exporters 127.0.0.1..127.0.0.N (4)
#   RECORDS       flow records per v9 datagram (30)
#   RETRIES       extra attempts of a lossy step before the ladder stops (1)
#   BOTSCOPE_ARGS extra arguments for `botscope collect` (e.g. "--config small-batch.conf"),
#                 shown in the notes; the default is botscope's defaults
#   SINK          bs-ingest-sink (default: next to SENDER, else compiled here)
#   SINK_ARGS     extra arguments for the sink (e.g. "--mode poll")
#   TICK_US       the sender's pacing quantum (--tick-us, default 1000; 0 = the old spinning
#                 pacing that keeps one core busy)
#
# Method. For each tool and each offered rate, a fresh collector is started on a free port of
# 127.0.0.1 writing where its users would write (botscope: its store; nfcapd: nfcapd files;
# nfacctd: the print plugin, the cheapest pmacct backend, see below), the sender offers the
# rate for STEP_SECONDS, the collector is given time to drain (until it is idle), then stopped
# gracefully, and the flows it kept are counted from what it wrote:
#   botscope: `botscope flows --store DIR --count` (the stored flows);
#   nfcapd:   `nfdump -R DIR -I` (the flow count of the files written);
#   nfacctd:  the FLOWS column of its print plugin (aggregate proto,flows) summed.
#   sink:     bs-ingest-sink's count of the v9 data records it received (it receives like
#             `botscope collect`, same socket setup and recvmmsg batches, and discards: the
#             ceiling of any collector on this machine with this sender).
# A step is lossless when the count equals the sender's flow count exactly. The highest
# lossless step is the tool's result; the ladder stops at the first lossy step (after RETRIES
# more attempts) or when the sender itself cannot reach the offered rate (reported as such).
# CPU is the collector's own CPU time (all its threads and child processes, from /proc)
# during the step, divided by the step's wall time: 1.00 = one core busy; "CPU s per 1M
# flows" divides the same CPU time by the flows kept. The sender's own CPU (cores) is in the
# step table too: sender and collector share the machine's cores.
# Kernel drops are the receive socket's drop counter (/proc/net/udp) just before stopping, in
# datagrams; "tool's own drops" is what the tool reports dropping inside (botscope: datagrams
# dropped because its decode rings were full).
# Everything is sent to 127.0.0.1; every process started here is stopped by its pid.
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BOTSCOPE=${BOTSCOPE:-${1:-$SRC/build/release/src/cli/botscope}}
BOTSCOPE=$(cd "$(dirname "$BOTSCOPE")" && pwd)/$(basename "$BOTSCOPE")
OUT=${BS_BENCH_OUT:-$SRC/out/bench/ingest}
TOOLS=${TOOLS:-botscope nfcapd nfacctd sink}
STEPS=${STEPS:-100000 250000 500000 750000 1000000 1500000 2000000 2500000 3000000 4000000 5000000 6000000 8000000}
STEP_SECONDS=${STEP_SECONDS:-10}
EXPORTERS=${EXPORTERS:-4}
RECORDS=${RECORDS:-30}
RETRIES=${RETRIES:-1}
TICK_US=${TICK_US:-1000}
HZ=$(getconf CLK_TCK)

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bs-bench-ingest.XXXXXX")
TOOL_PID=""

cleanup() {
    if [ -n "$TOOL_PID" ]; then
        kill -TERM "$TOOL_PID" 2>/dev/null
        wait "$TOOL_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "ingest: $*" >&2; }

[ -x "$BOTSCOPE" ] || { log "no botscope binary at $BOTSCOPE (make build first)"; exit 1; }
if [ -z "${SENDER:-}" ]; then
    SENDER=$(dirname "$BOTSCOPE")/../../bench/ingest/bs-ingest-sender
    if [ ! -x "$SENDER" ]; then
        SENDER=$WORK/bs-ingest-sender
        cc -O2 -std=c17 -D_GNU_SOURCE -o "$SENDER" "$SRC/bench/ingest/sender.c" -lpcap ||
            { log "cannot build the sender"; exit 1; }
    fi
fi

if [ -z "${SINK:-}" ]; then
    SINK=$(dirname "$SENDER")/bs-ingest-sink
    if [ ! -x "$SINK" ]; then
        SINK=$WORK/bs-ingest-sink
        cc -O2 -std=c17 -D_GNU_SOURCE -pthread -o "$SINK" "$SRC/bench/ingest/sink.c" ||
            { log "cannot build the sink"; exit 1; }
    fi
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_bound() {
    local i
    for ((i = 0; i < 100; i++)); do
        ss -Huln "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

# CPU ticks (user + system) of a process and all its descendants.
tree_ticks() {
    local pids=("$1") all=() p t=0 kids
    while [ ${#pids[@]} -gt 0 ]; do
        p=${pids[0]}
        pids=("${pids[@]:1}")
        all+=("$p")
        kids=$(cat /proc/"$p"/task/*/children 2>/dev/null)
        for k in $kids; do pids+=("$k"); done
    done
    local v
    for p in "${all[@]}"; do
        # utime and stime: fields 14 and 15, i.e. 12 and 13 after the ")" ending the name;
        # a thread or child that vanished meanwhile counts 0.
        v=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}')
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# Receive-queue drops of the UDP socket(s) bound to port $1 (hex in /proc/net/udp).
udp_drops() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$2 ~ p"$" {d += $NF} END {print d + 0}' /proc/net/udp /proc/net/udp6
}

# Waits until the collector has used no CPU for 1 s (it has drained its queues), at most 30 s.
wait_idle() {
    local a b i
    a=$(tree_ticks "$1")
    for ((i = 0; i < 60; i++)); do
        sleep 0.5
        b=$(tree_ticks "$1")
        [ $((b - a)) -le $((HZ / 20)) ] && return 0
        a=$b
    done
}

tool_version() {
    case "$1" in
        botscope) "$BOTSCOPE" --version 2>&1 | head -1 | awk '{print $NF}' ;;
        nfcapd) nfcapd -V 2>&1 | awk '{print $NF}' ;;
        nfacctd) nfacctd -V 2>&1 | head -1 | sed 's/.*nfacctd //; s/ .*//' ;;
        sink) echo "-" ;;
    esac
}

tool_available() {
    case "$1" in
        botscope) [ -x "$BOTSCOPE" ] ;;
        nfcapd) command -v nfcapd >/dev/null && command -v nfdump >/dev/null ;;
        nfacctd) command -v nfacctd >/dev/null ;;
        sink) [ -x "$SINK" ] ;;
        *) return 1 ;;
    esac
}

# start_tool TOOL PORT DIR: starts the collector in the background, sets TOOL_PID.
start_tool() {
    local tool=$1 port=$2 dir=$3
    mkdir -p "$dir"
    case "$tool" in
        botscope)
            # As users run it: defaults (2 receive threads, 1 decode thread, 32M receive
            # buffer via SO_RCVBUFFORCE when root), writing into the embedded store; -v only
            # adds the statistics lines (queue drops) to its log.
            # shellcheck disable=SC2086 # BOTSCOPE_ARGS is a list of words on purpose
            "$BOTSCOPE" collect --listen "127.0.0.1:$port" --store "$dir/store" -v \
                --stats-interval 2s ${BOTSCOPE_ARGS:-} >"$dir/tool.log" 2>&1 &
            ;;
        nfcapd)
            # -B: the largest receive buffer SO_RCVBUF gives without privileges tricks
            # (net.core.rmem_max); -t 3600: one file for the whole step.
            mkdir -p "$dir/nf"
            nfcapd -w "$dir/nf" -b 127.0.0.1 -p "$port" -B 4194304 -t 3600 \
                >"$dir/tool.log" 2>&1 &
            ;;
        nfacctd)
            # The cheapest backend that still counts every flow: the print plugin aggregating
            # on protocol with the flows counter, flushed every second to an appended CSV; a
            # large core->plugin pipe and buffer, as pmacct's docs advise above 250k flows/s.
            cat >"$dir/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
nfacctd_pipe_size: 4194304
nfacctd_time_new: true
plugin_pipe_size: 102400000
plugin_buffer_size: 102400
plugins: print[p]
aggregate[p]: proto, flows
print_output[p]: csv
print_output_file[p]: $dir/print.csv
print_output_file_append[p]: true
print_refresh_time[p]: 1
EOF
            nfacctd -f "$dir/nfacctd.conf" >"$dir/tool.log" 2>&1 &
            ;;
        sink)
            # The collector's receive side alone: 2 SO_REUSEPORT sockets, 32M SO_RCVBUFFORCE,
            # recvmmsg batches of 64 into 64 KiB buffers; counts and discards.
            # shellcheck disable=SC2086 # SINK_ARGS is a list of words on purpose
            "$SINK" --port "$port" ${SINK_ARGS:-} >"$dir/tool.log" 2>&1 &
            ;;
    esac
    TOOL_PID=$!
}

stop_tool() {
    local tool=$1 i
    case "$tool" in
        nfacctd) kill -INT "$TOOL_PID" 2>/dev/null ;;
        *) kill -TERM "$TOOL_PID" 2>/dev/null ;;
    esac
    for ((i = 0; i < 600; i++)); do
        kill -0 "$TOOL_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$TOOL_PID" 2>/dev/null && { log "$tool did not stop in 60 s; killing it"; kill -KILL "$TOOL_PID"; }
    wait "$TOOL_PID" 2>/dev/null
    TOOL_PID=""
}

count_flows() {
    local tool=$1 dir=$2
    case "$tool" in
        botscope)
            "$BOTSCOPE" flows --store "$dir/store" --count 2>/dev/null |
                sed -n 's/.*total flows: \([0-9]*\).*/\1/p' | head -1
            ;;
        nfcapd)
            nfdump -R "$dir/nf" -I 2>/dev/null | awk '$1 == "Flows:" {s += $2} END {print s + 0}'
            ;;
        nfacctd)
            awk -F, 'NR > 1 && $3 ~ /^[0-9]+$/ {s += $3} END {print s + 0}' "$dir/print.csv" 2>/dev/null ||
                echo 0
            ;;
        sink)
            sed -n 's/^sink: .* flows \([0-9]*\) .*/\1/p' "$dir/tool.log" | tail -1
            ;;
    esac
}

json_field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
STEPS_MD=$OUT/steps.md
{
    echo "| tool | offered flows/s | sent flows | achieved flows/s | kept flows | lost | kernel drops (datagrams) | tool's own drops | CPU (cores) | sender CPU (cores) | lossless |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$STEPS_MD"
declare -A BEST BEST_CPU BEST_COST NOTE VERSION

run_step() {
    local tool=$1 rate=$2 port dir sent_json sent achieved kept c0 c1 drops cpu w0 w1 scpu
    port=$(free_port)
    dir=$WORK/$tool-$rate-$RANDOM
    start_tool "$tool" "$port" "$dir"
    if ! wait_bound "$port"; then
        log "$tool did not bind 127.0.0.1:$port: $(tail -3 "$dir/tool.log")"
        stop_tool "$tool"
        cp "$dir/tool.log" "$OUT/$tool-$rate.log" 2>/dev/null
        STEP_ACHIEVED=0
        return 2
    fi
    sleep 0.5
    c0=$(tree_ticks "$TOOL_PID")
    w0=$(date +%s.%N)
    sent_json=$("$SENDER" --port "$port" --rate "$rate" --duration "$STEP_SECONDS" \
        --exporters "$EXPORTERS" --records "$RECORDS" --tick-us "$TICK_US" 2>"$dir/sender.err")
    wait_idle "$TOOL_PID"
    c1=$(tree_ticks "$TOOL_PID")
    w1=$(date +%s.%N)
    drops=$(udp_drops "$port")
    stop_tool "$tool"
    kept=$(count_flows "$tool" "$dir")
    kept=${kept:-0}
    sent=$(json_field "$sent_json" flows)
    achieved=$(json_field "$sent_json" achieved_flows_per_s)
    cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v a="$w0" -v b="$w1" 'BEGIN {printf "%.2f", c / hz / (b - a)}')
    STEP_CPU=$cpu
    # CPU seconds per million flows kept: the cost of a flow, less sensitive than the lossless
    # rate to whatever else runs on the machine.
    STEP_COST=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v k="$kept" 'BEGIN {if (k > 0) printf "%.2f", c / hz / k * 1e6; else print "-"}')
    STEP_ACHIEVED=${achieved%.*}
    local ok=no
    [ -n "$sent" ] && [ "$kept" = "$sent" ] && ok=yes
    local own="-"
    case "$tool" in
        botscope) own=$(sed -n 's/.*stopped:.*queue drops \([0-9]*\).*/\1 queue/p' "$dir/tool.log" | tail -1) ;;
    esac
    scpu=$(json_field "$sent_json" cpu_cores)
    echo "| $tool | $rate | $sent | $achieved | $kept | $((sent - kept)) | $drops | ${own:--} | $cpu | ${scpu:--} | $ok |" >>"$STEPS_MD"
    log "$tool @ $rate flows/s: sent $sent (achieved $achieved/s), kept $kept, kernel drops $drops, cpu $cpu"
    cp "$dir/tool.log" "$OUT/$tool-$rate.log" 2>/dev/null
    rm -rf "$dir"
    [ "$ok" = yes ] && return 0
    return 1
}

for tool in $TOOLS; do
    if ! tool_available "$tool"; then
        log "$tool not installed: skipped"
        NOTE[$tool]="not installed"
        continue
    fi
    VERSION[$tool]=$(tool_version "$tool")
    BEST[$tool]=0
    BEST_CPU[$tool]="-"
    BEST_COST[$tool]="-"
    NOTE[$tool]=""
    for rate in $STEPS; do
        attempt=0
        while :; do
            run_step "$tool" "$rate"
            rc=$?
            [ $rc -eq 0 ] && break
            [ $rc -eq 2 ] && break
            attempt=$((attempt + 1))
            [ $attempt -gt "$RETRIES" ] && break
            log "$tool @ $rate: lossy, retrying"
        done
        if [ $rc -eq 2 ]; then
            NOTE[$tool]="did not start (see $OUT/$tool-$rate.log)"
            break
        fi
        # A sender that fell more than 3 % short did not offer this rate: stop, say so.
        if [ "${STEP_ACHIEVED:-0}" -lt $((rate * 97 / 100)) ]; then
            NOTE[$tool]="sender reached only ${STEP_ACHIEVED} flows/s at the $rate step"
            # a lossless short step counts only if it beat the last full one
            [ $rc -eq 0 ] && [ "${STEP_ACHIEVED:-0}" -gt "${BEST[$tool]}" ] &&
                { BEST[$tool]=$STEP_ACHIEVED; BEST_CPU[$tool]=$STEP_CPU; BEST_COST[$tool]=$STEP_COST; }
            break
        fi
        if [ $rc -ne 0 ]; then
            NOTE[$tool]="first loss at $rate flows/s"
            break
        fi
        BEST[$tool]=$rate
        BEST_CPU[$tool]=$STEP_CPU
        BEST_COST[$tool]=$STEP_COST
    done
    [ -z "${NOTE[$tool]}" ] && NOTE[$tool]="lossless at every step (limit not reached)"
    case "$tool" in
        botscope) NOTE[$tool]="${NOTE[$tool]}; keeps every flow (zstd column segments, ${BOTSCOPE_ARGS:-default settings})" ;;
        nfcapd) NOTE[$tool]="${NOTE[$tool]}; keeps every flow (nfcapd files, uncompressed: its default)" ;;
        nfacctd) NOTE[$tool]="${NOTE[$tool]}; print plugin aggregating by protocol: keeps counters, not flows" ;;
        sink) NOTE[$tool]="${NOTE[$tool]}; receives and discards (the ceiling of this machine and sender${SINK_ARGS:+, $SINK_ARGS})" ;;
    esac
done

RESULTS=$OUT/results.md
{
    echo "## Ingest: highest lossless NetFlow v9 rate ($(nproc) cores, $EXPORTERS exporters, $RECORDS records/datagram, ${STEP_SECONDS} s steps, sender tick ${TICK_US} us)"
    echo
    echo "Load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| tool | version | highest lossless flows/s | CPU at that rate (cores) | CPU s per 1M flows | notes |"
    echo "|---|---|---:|---:|---:|---|"
    for tool in $TOOLS; do
        [ -n "${VERSION[$tool]:-}" ] || { echo "| $tool | - | - | - | - | ${NOTE[$tool]} |"; continue; }
        echo "| $tool | ${VERSION[$tool]} | ${BEST[$tool]} | ${BEST_CPU[$tool]} | ${BEST_COST[$tool]} | ${NOTE[$tool]} |"
    done
    echo
    b=${BEST[botscope]:-0}
    n=${BEST[nfcapd]:-0}
    top=${STEPS##* }
    [ "$n" = "$top" ] && echo "nfcapd was lossless up to the top step: its limit, and the ratio, are lower bounds."
    [ "$b" = "$top" ] && echo "botscope was lossless up to the top step: its limit is a lower bound."
    if [ -n "${VERSION[botscope]:-}" ]; then
        if [ "$b" -ge 1000000 ]; then f1=met; else f1="NOT met"; fi
        echo "Floor botscope >= 1,000,000 flows/s lossless: $f1 ($b)."
        if [ -n "${VERSION[nfcapd]:-}" ] && [ "$n" -gt 0 ]; then
            if [ "$b" -ge $((3 * n)) ]; then f2=met; else f2="NOT met"; fi
            echo "Floor botscope >= 3 x nfcapd ($n): $f2 (ratio $(awk -v b="$b" -v n="$n" 'BEGIN {printf "%.2f", b / n}'))."
        fi
    fi
    echo
    echo "Every step:"
    echo
    cat "$STEPS_MD"
} >"$RESULTS"
cat "$RESULTS"
