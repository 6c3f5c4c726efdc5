#!/usr/bin/env bash
# collect_soak.sh - a soak test of the live collector, outside the default suite.
#
#   tests/soak/collect_soak.sh BOTSCOPE [SECONDS]      (default 600; SOAK_RATE datagrams/s,
#                                                       default 500 = 15,000 flows/s)
#
# For SECONDS, at a sustained rate: NetFlow v5 from 127.0.0.2 (30 flows a datagram, sequence
# numbers continuous), an IPFIX template flood from 127.0.0.3 (about 400 new template IDs a
# second, far past the per-exporter cap of 4096), and a metrics client trickling one byte every 1.5 s. Every
# 10 s it samples the collector's RSS, open file descriptors and the store's segment files.
# It fails when memory or descriptors grow (last third against the first third after a 30 s
# warm-up: RSS by more than 20 % + 16 MiB, descriptors by more than 4), when the segments
# added per sample grow (the last third's mean more than twice the first third's + 2), or when
# anything received is missing from the store (stored v5 flows != sent; kernel or queue drops
# are reported and fail too). Traffic goes only to 127.0.0.0/8. Prints a table of the samples.
set -u
BOTSCOPE=${1:?usage: collect_soak.sh BOTSCOPE [SECONDS]}
SECS=${2:-600}
RATE=${SOAK_RATE:-500}
here=$(cd "$(dirname "$0")" && pwd)
send() { python3 "$here/../integration/collect_send.py" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

port=$(send --to 127.0.0.1:1 --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)
st="$work/store"
"$BOTSCOPE" collect --listen "127.0.0.1:$port" --store "$st" --metrics "127.0.0.1:$mport" \
    --flush-interval 5s --stats-interval 0 --rcvbuf 64M -v 2>"$work/log" &
cpid=$!
pids+=("$cpid")
for _ in $(seq 100); do
    grep -q "collector running" "$work/log" && break
    kill -0 "$cpid" 2>/dev/null || fail "collector died: $(cat "$work/log")"
    sleep 0.1
done

ndg=$((SECS * RATE))
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind v5 --datagrams "$ndg" --flows 30 \
    --rate "$RATE" &
sender=$!
pids+=("$sender")
# the flood: 500 template IDs a burst, a burst about every second, wrapping its ID range
( k=0; while :; do
      send --to "127.0.0.1:$port" --src 127.0.0.3 --kind ipfix-flood --datagrams 5 \
          --id-base $((k * 500)) --seq "$k"
      k=$((k + 1))
      sleep 1
  done ) &
pids+=("$!")
python3 - "$mport" <<'EOF2' &
import socket, sys, time
while True:
    try:
        s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
        for b in b'GET /metrics HTTP/1.1\r\nX-Slow: ' + b'a' * 100000:
            s.send(bytes([b]))
            time.sleep(1.5)
    except OSError:
        time.sleep(1)
EOF2
pids+=("$!")

printf '%6s %10s %5s %9s\n' second rss_kib fds segments | tee "$work/samples"
t0=$(date +%s)
while kill -0 "$sender" 2>/dev/null; do
    sleep 10
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$cpid/status")
    fds=$(ls "/proc/$cpid/fd" | wc -l)
    segs=$(find "$st" -name '*.seg' | wc -l)
    printf '%6d %10d %5d %9d\n' $(( $(date +%s) - t0 )) "$rss" "$fds" "$segs" | tee -a "$work/samples"
done
wait "$sender" || fail "sender failed"
sleep 2
metrics=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$mport/metrics', timeout=30).read().decode())") ||
    fail "metrics not answered at the end"
kill -TERM "$cpid"
wait "$cpid"; rc=$?
[ $rc -eq 0 ] || fail "collector exit $rc after SIGTERM: $(tail -3 "$work/log")"
drops=$(echo "$metrics" | awk '/^botscope_collect_(kernel|queue)_drops_total/ {s += $2} END {print s + 0}')
stored=$("$BOTSCOPE" flows --store "$st" --count -o ndjson 'exporter 127.0.0.2' |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["flows"])')
sent=$((ndg * 30))
echo "sent $sent flows, stored $stored, kernel+queue drops $drops datagrams"
evicted=$(echo "$metrics" | grep -F 'botscope_collect_exporter_templates_evicted_total{exporter="127.0.0.3"}' |
    awk '{print $2}')
echo "template flood: ${evicted:-0} evictions"
python3 - "$work/samples" <<'EOF2' || exit 1
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]).readlines()[1:]]
rows = [r for r in rows if r[0] >= 30] or rows
if len(rows) < 3:
    print('too few samples for the growth checks'); sys.exit(0)
k = max(1, len(rows) // 3)
first, last = rows[:k], rows[-k:]
rss0, rss1 = max(r[1] for r in first), max(r[1] for r in last)
fd0, fd1 = max(r[2] for r in first), max(r[2] for r in last)
d = [b[3] - a[3] for a, b in zip(rows, rows[1:])]
k2 = max(1, len(d) // 3)
s0, s1 = sum(d[:k2]) / k2, sum(d[-k2:]) / k2
print('rss %d -> %d KiB, fds %d -> %d, segments per sample %.1f -> %.1f' % (rss0, rss1, fd0, fd1, s0, s1))
bad = []
if rss1 > rss0 * 1.2 + 16384: bad.append('memory grows')
if fd1 > fd0 + 4: bad.append('descriptors grow')
if s1 > 2 * s0 + 2: bad.append('segments per interval grow')
if bad:
    print('FAIL: ' + ', '.join(bad)); sys.exit(1)
EOF2
[ "$drops" -eq 0 ] || fail "$drops datagrams dropped before decoding"
[ "$stored" -eq "$sent" ] || fail "stored $stored of $sent flows"
echo "soak passed"
