#!/usr/bin/env bash
# The live collector on loopback: several ports (IPv4 and IPv6) with several receive and decode
# threads, the exporter allow-list, the metrics endpoint, and a SIGTERM stop that loses nothing.
# Traffic goes only to 127.0.0.1 and ::1 (collect_send.py refuses anything else).
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null ||
    skip "no IPv6 loopback"

# wait_ready LOG: the collector logs "collector running" at info level once its threads run.
wait_ready() {
    for _ in $(seq 100); do
        grep -q "collector running" "$1" && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$1" >&2; fail "collector died"; }
        sleep 0.1
    done
    cat "$1" >&2
    fail "collector not ready"
}
stop() { # stop: SIGTERM, wait, expect exit 0
    kill -TERM "$pid"
    wait "$pid"; local rc=$?
    pid=
    expect_rc 0 $rc "collector exit after SIGTERM"
}
metric() { # metric NAME LABELS -> value
    python3 - "$mport" "$1" "$2" <<'EOF'
import sys, urllib.request
port, name, labels = sys.argv[1], sys.argv[2], sys.argv[3]
body = urllib.request.urlopen('http://127.0.0.1:%s/metrics' % port, timeout=5).read().decode()
want = name + ('{' + labels + '}' if labels else '')
for line in body.splitlines():
    if line.split(' ')[0] == want:
        print(line.split(' ')[1]); break
else:
    print('missing')
EOF
}

p4=$(send --to 127.0.0.1:1 --kind port-free)
p6=$(send --to '[::1]:1' --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)

# --- 1. two listen addresses, 2 receive threads each, 2 decode threads, allow-list, metrics
"$BOTSCOPE" collect --listen "127.0.0.1:$p4" --listen "[::1]:$p6" --output ndjson --no-state \
    --threads 2 --decode-threads 2 --allow 127.0.0.2/32 --allow ::1/128 \
    --metrics "127.0.0.1:$mport" --stats-interval 0 -v >"$work/out1" 2>"$work/err1" &
pid=$!
wait_ready "$work/err1"
grep -q "listening on udp 127.0.0.1:$p4 (2 sockets, receive buffer" "$work/err1" ||
    fail "no receive-buffer report: $(cat "$work/err1")"
send --to "127.0.0.1:$p4" --src 127.0.0.2 --kind v5 --datagrams 50 --flows 30
send --to "127.0.0.1:$p4" --src 127.0.0.3 --kind v5 --datagrams 10 --flows 30  # not allowed
send --to "[::1]:$p6" --kind v5 --datagrams 20 --flows 30
sleep 1.5 # decode threads publish their statistics once a second
[ "$(metric botscope_collect_received_datagrams_total "listen=\"127.0.0.1:$p4\"")" = 60 ] ||
    fail "received on $p4: $(metric botscope_collect_received_datagrams_total "listen=\"127.0.0.1:$p4\"")"
[ "$(metric botscope_collect_denied_total "listen=\"127.0.0.1:$p4\"")" = 10 ] || fail "denied count"
[ "$(metric botscope_collect_received_datagrams_total "listen=\"[::1]:$p6\"")" = 20 ] ||
    fail "received on $p6"
[ "$(metric botscope_collect_exporter_flows_total 'exporter="127.0.0.2"')" = 1500 ] ||
    fail "exporter flows 127.0.0.2: $(metric botscope_collect_exporter_flows_total 'exporter="127.0.0.2"')"
[ "$(metric botscope_collect_exporter_flows_total 'exporter="::1"')" = 600 ] || fail "exporter ::1"
[ "$(metric botscope_collect_exporter_datagrams_total 'exporter="127.0.0.3"')" = missing ] ||
    fail "a denied exporter got a state"
[ "$(metric botscope_collect_exporters '')" = 2 ] || fail "exporters gauge"
[ "$(metric botscope_collect_queue_drops_total "listen=\"127.0.0.1:$p4\"")" = 0 ] || fail "queue drops"
[ "$(metric botscope_collect_kernel_drops_total "listen=\"127.0.0.1:$p4\"")" = 0 ] || fail "kernel drops"
code=$(python3 -c "
import urllib.request, urllib.error
try: urllib.request.urlopen('http://127.0.0.1:$mport/nothere', timeout=5)
except urllib.error.HTTPError as e: print(e.code)")
[ "$code" = 404 ] || fail "metrics: unknown path gave $code"
stop
[ "$(wc -l <"$work/out1")" -eq 2100 ] || fail "records: $(wc -l <"$work/out1"), want 2100"
python3 - "$work/out1" <<'EOF' || fail "record content"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ex = sorted(set(r['exporter'] for r in recs))
assert ex == ['127.0.0.2', '::1'], ex
# every flow of every datagram exactly once (v5 flow i of datagram d: src_port 10000+i,
# packets d*1000+i+1)
for e, n in (('127.0.0.2', 50), ('::1', 20)):
    keys = sorted((r['packets'], r['src_port']) for r in recs if r['exporter'] == e)
    want = sorted((d * 1000 + i + 1, 10000 + i) for d in range(n) for i in range(30))
    assert keys == want, e
r = recs[0]
assert r['version'] == 5 and r['proto'] == 6 and r['tcp_flags'] == 0x12 and r['src_as'] == 64500, r
EOF
grep -q "stopped: received 80 datagrams" "$work/err1" || fail "final statistics line: $(tail -3 "$work/err1")"

# --- 2. SIGTERM right after a burst: every flow that reached the socket is written
p4=$(send --to 127.0.0.1:1 --kind port-free)
"$BOTSCOPE" collect --listen "127.0.0.1:$p4" --output ndjson --no-state --threads 1 -v \
    >"$work/out2" 2>"$work/err2" &
pid=$!
wait_ready "$work/err2"
send --to "127.0.0.1:$p4" --src 127.0.0.2 --kind v5 --datagrams 1000 --flows 30 --rate 20000
stop
n=$(wc -l <"$work/out2")
[ "$n" -eq 30000 ] || fail "drain at SIGTERM: $n of 30000 flows written ($(tail -2 "$work/err2"))"

# --- 3. usage errors
"$BOTSCOPE" collect --listen 127.0.0.1 --output ndjson 2>"$work/err3"; expect_rc 2 $? "bad listen"
grep -q "bad listen address '127.0.0.1'" "$work/err3" || fail "bad listen message: $(cat "$work/err3")"
"$BOTSCOPE" collect --listen "127.0.0.1:$p4" --allow nonsense --output ndjson 2>"$work/err3"
expect_rc 2 $? "bad --allow"
"$BOTSCOPE" collect --listen "127.0.0.1:$p4" 2>/dev/null; expect_rc 2 $? "no output"
pass
