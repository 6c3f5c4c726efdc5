#!/usr/bin/env bash
# /metrics with 46,000 exporters (below collect.max_exporters, 65,536): the response is
# complete (200, one sample per exporter in every per-exporter family), where a fixed 64 MiB
# body cap used to answer 500 "metrics too large" and lose every metric. Traffic goes only to
# 127.0.0.0/8 (one source address per exporter in 127.1.0.0/16).
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
N=${BS_MANY_EXPORTERS:-46000}

port=$(send --to 127.0.0.1:1 --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)
"$BOTSCOPE" collect --listen "127.0.0.1:$port" --output ndjson --no-state --stats-interval 0 \
    --decode-threads 2 --metrics "127.0.0.1:$mport" -v >"$work/out" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
    grep -q "collector running" "$work/log" && break
    kill -0 "$pid" 2>/dev/null || fail "collector died: $(cat "$work/log")"
    sleep 0.1
done
send --to "127.0.0.1:$port" --kind v5-many --datagrams "$N" --rate 20000
python3 - "$mport" "$N" <<'EOF2' || fail "metrics with $N exporters"
import sys, time, urllib.request
port, n = sys.argv[1], int(sys.argv[2])
for _ in range(30):
    body = urllib.request.urlopen('http://127.0.0.1:%s/metrics' % port, timeout=60).read()
    if b'\nbotscope_collect_exporters %d\n' % n in body:
        break
    time.sleep(0.5)
else:
    sys.exit('exporters gauge never reached %d' % n)
lines = body.count(b'\nbotscope_collect_exporter_flows_total{exporter="127.1.')
assert lines == n, lines
assert body.count(b'\nbotscope_collect_exporter_decode_errors_total{exporter="127.1.') >= n
print('%d exporters, %.1f MB of metrics' % (n, len(body) / 1e6))
EOF2
kill -TERM "$pid"
wait "$pid"; rc=$?
pid=
expect_rc 0 $rc "collector exit after SIGTERM"
[ "$(wc -l <"$work/out")" -eq "$N" ] || fail "records: $(wc -l <"$work/out"), want $N"
pass
