#!/usr/bin/env bash
# Garbage is not stored as data: 100 datagrams with a valid NetFlow v5 header (30 records, the
# right length, the current time) followed by random bytes. Every record either is refused and
# counted (decode errors of kind value or skew) or is possible: masks <= 32, packets <= bytes,
# times within collect.max_time_skew (1 day) of now. records + refused = 3000, and the store
# holds at most two day folders. Traffic goes only to 127.0.0.1.
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(send --to 127.0.0.1:1 --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)
st="$work/store"
"$BOTSCOPE" collect --listen "127.0.0.1:$port" --store "$st" --no-state --stats-interval 0 \
    --metrics "127.0.0.1:$mport" -v 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
    grep -q "collector running" "$work/log" && break
    kill -0 "$pid" 2>/dev/null || fail "collector died: $(cat "$work/log")"
    sleep 0.1
done
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind v5-garbage --datagrams 100 --rate 2000
sleep 1.5
curl -s "http://127.0.0.1:$mport/metrics" >"$work/metrics" 2>/dev/null ||
    python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$mport/metrics').read().decode())" >"$work/metrics"
kill -TERM "$pid"
wait "$pid"; rc=$?
pid=
expect_rc 0 $rc "collector exit after SIGTERM"
"$BOTSCOPE" flows --store "$st" -o ndjson >"$work/flows.ndjson" || fail "flows"
python3 - "$work/metrics" "$work/flows.ndjson" <<'EOF2' || fail "garbage stored as data"
import json, sys, time
m = {}
for line in open(sys.argv[1]):
    if line.startswith('#') or ' ' not in line:
        continue
    k, v = line.rsplit(' ', 1)
    m[k] = int(v)
ex = 'exporter="127.0.0.2"'
flows = m['botscope_collect_exporter_flows_total{%s}' % ex]
value = m['botscope_collect_exporter_decode_errors_total{%s,kind="value"}' % ex]
skew = m['botscope_collect_exporter_decode_errors_total{%s,kind="skew"}' % ex]
assert flows + value + skew == 3000, (flows, value, skew)
assert value > 2500, (flows, value, skew)
recs = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == flows, (len(recs), flows)
now = time.time() * 1000
for r in recs:
    assert r.get('src_mask', 0) <= 32 and r.get('dst_mask', 0) <= 32, r
    assert r['packets'] <= r['bytes'], r
    assert now - 86400e3 - 60e3 <= r['start_ms'] <= r['end_ms'] <= now + 86400e3, r
print('records kept %d, refused value %d, skew %d' % (flows, value, skew))
EOF2
days=$(find "$st" -mindepth 1 -type d | grep -cE '/[0-9]{4}-?[0-9]{2}-?[0-9]{2}$' || true)
[ "$days" -le 2 ] || fail "$days day folders from 100 garbage datagrams"
pass
