#!/usr/bin/env bash
# Live collector into the store, with template state persisted across a restart: IPFIX
# templates and data, SIGTERM, restart, data only -> decoded. A run without the state file is
# the control (its data cannot decode). Also: SIGTERM right after a burst loses no flow in the
# store. Traffic goes only to 127.0.0.1 (collect_send.py refuses anything else).
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() { # start LOG ARGS...: run the collector in the background, wait until it runs
    local log=$1; shift
    "$BOTSCOPE" collect "$@" -v 2>"$log" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "collector running" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "collector died"; }
        sleep 0.1
    done
    fail "collector not ready: $(cat "$log")"
}
stop() {
    kill -TERM "$pid"
    wait "$pid"; local rc=$?
    pid=
    expect_rc 0 $rc "collector exit after SIGTERM"
}
count() { "$BOTSCOPE" flows --store "$1" -o ndjson | wc -l; }

port=$(send --to 127.0.0.1:1 --kind port-free)
st="$work/store"

# --- 1. templates and data, then stop: the state file is written into the store directory
start "$work/e1" --listen "127.0.0.1:$port" --store "$st" --threads 2 --decode-threads 2
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-template
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-data --flows 5 --seq 0
sleep 0.3
stop
[ -f "$st/collector.state" ] || fail "no $st/collector.state: $(cat "$work/e1")"
[ "$(head -c 8 "$st/collector.state")" = BSCOLST1 ] || fail "state file magic"
[ "$(count "$st")" -eq 5 ] || fail "first run: $(count "$st") records, want 5"

# --- 2. restart, data only: decodes with the saved template
start "$work/e2" --listen "127.0.0.1:$port" --store "$st"
grep -q "restored 1 exporter states from $st/collector.state" "$work/e2" ||
    fail "state not restored: $(cat "$work/e2")"
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-data --flows 10 --seq 5
sleep 0.3
stop
[ "$(count "$st")" -eq 15 ] || fail "after restart: $(count "$st") records, want 15"
"$BOTSCOPE" flows --store "$st" -o ndjson | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
b = sorted(r["bytes"] for r in recs)
assert b == sorted([700 + i for i in range(5)] + [700 + i for i in range(10)]), b
r = recs[0]
assert (r["exporter"], r["version"], r["obs_domain"], r["src_addr"], r["dst_addr"], r["dst_port"],
        r["proto"], r["packets"]) == ("127.0.0.2", 10, 42, "10.0.0.1", "10.0.0.2", 443, 6, 7), r
assert r["end_ms"] - r["start_ms"] == 1000, r
' || fail "restored records"

# --- 3. control: without the state file the same data cannot decode
st2="$work/store2"
start "$work/e3" --listen "127.0.0.1:$port" --store "$st2" --no-state
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-data --flows 10 --seq 15
sleep 0.3
stop
[ "$(count "$st2")" -eq 0 ] || fail "control run decoded data without a template"
[ ! -e "$st2/collector.state" ] || fail "--no-state wrote a state file"

# --- 4. SIGTERM right after a burst into the store: every flow arrives
st3="$work/store3"
start "$work/e4" --listen "127.0.0.1:$port" --store "$st3" --no-state --flush-interval 1h
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind v5 --datagrams 400 --flows 30 --rate 20000
stop
n=$(count "$st3")
[ "$n" -eq 12000 ] || fail "store after SIGTERM: $n of 12000 flows ($(tail -2 "$work/e4"))"
pass
