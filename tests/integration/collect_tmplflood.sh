#!/usr/bin/env bash
# A template flood (20,000 template IDs from one exporter, 5 x the per-exporter cap) does not
# lock that exporter's real templates out: the least recently used are evicted (counted, logged
# once), the real template sent after the flood decodes its data, and after a restart the state
# file brings back the real template and not the flood. Traffic goes only to 127.0.0.1.
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() { # start LOG ARGS...
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
metric() { # metric NAME LABELS
    python3 - "$mport" "$1" "$2" <<'EOF2'
import sys, urllib.request
port, name, labels = sys.argv[1], sys.argv[2], sys.argv[3]
body = urllib.request.urlopen('http://127.0.0.1:%s/metrics' % port, timeout=5).read().decode()
want = name + ('{' + labels + '}' if labels else '')
for line in body.splitlines():
    if line.split(' ')[0] == want:
        print(line.split(' ')[1]); break
else:
    print('missing')
EOF2
}
count() { "$BOTSCOPE" flows --store "$1" -o ndjson | wc -l; }

port=$(send --to 127.0.0.1:1 --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)
st="$work/store"
ex='exporter="127.0.0.2"'

start "$work/e1" --listen "127.0.0.1:$port" --store "$st" --metrics "127.0.0.1:$mport" \
    --stats-interval 0
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-flood --datagrams 200 --rate 2000
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-template
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-data --flows 5 --seq 0
sleep 1.5 # statistics are published once a second
[ "$(metric botscope_collect_exporter_templates "$ex")" = 4096 ] ||
    fail "templates held: $(metric botscope_collect_exporter_templates "$ex")"
[ "$(metric botscope_collect_exporter_templates_evicted_total "$ex")" = $((20001 - 4096)) ] ||
    fail "evictions: $(metric botscope_collect_exporter_templates_evicted_total "$ex")"
[ "$(metric botscope_collect_exporter_flows_total "$ex")" = 5 ] ||
    fail "real template after the flood: $(metric botscope_collect_exporter_flows_total "$ex") flows"
stop
[ "$(grep -c "exporter 127.0.0.2: template cap (4096) reached" "$work/e1")" -eq 1 ] ||
    fail "eviction not logged exactly once: $(grep -c "template cap" "$work/e1")"
[ "$(count "$st")" -eq 5 ] || fail "first run: $(count "$st") records, want 5"
# the state file holds the used template and at most 64 unused ones, not the flood
sz=$(stat -c %s "$st/collector.state")
[ "$sz" -lt 4000 ] || fail "state file is $sz bytes: the flood was saved"

# restart: data only decodes with the restored real template
start "$work/e2" --listen "127.0.0.1:$port" --store "$st" --metrics "127.0.0.1:$mport" \
    --stats-interval 0
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind ipfix-data --flows 10 --seq 5
sleep 1.5
[ "$(metric botscope_collect_exporter_templates "$ex")" = 65 ] ||
    fail "templates after restart: $(metric botscope_collect_exporter_templates "$ex")"
stop
[ "$(count "$st")" -eq 15 ] || fail "after restart: $(count "$st") records, want 15"
pass
