#!/usr/bin/env bash
# The ingest benchmark's own tools (bench/ingest): what bs-ingest-sink counts on 127.0.0.1 is
# exactly what bs-ingest-sender says it sent (datagrams, v9 data datagrams, flows, bytes), in
# both receive loops and with napping; both refuse a missing port. Traffic goes only to
# 127.0.0.1 (the sender's destination is fixed in its code).
set -u
. "$(dirname "$0")/lib.sh"
bin=${BS_BUILD_DIR:?}/bench/ingest
sender=$bin/bs-ingest-sender
sink=$bin/bs-ingest-sink
{ [ -x "$sender" ] && [ -x "$sink" ]; } || fail "bench tools not built in $bin"
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# free_port: a UDP port on 127.0.0.1 that nothing holds now.
free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_bound PORT: until the sink holds the port (a plain bind then fails).
wait_bound() {
    for _ in $(seq 100); do
        python3 - "$1" <<'PY' || return 0
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
        kill -0 "$pid" 2>/dev/null || fail "sink died"
        sleep 0.05
    done
    fail "sink never bound its port"
}
json() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
sink_field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1"; }

n=0
for args in "" "--mode poll" "--nap-us 200 --threads 1"; do
    port=$(free_port)
    # shellcheck disable=SC2086 # args is a list of words on purpose
    "$sink" --port "$port" $args >"$work/sink.out" 2>"$work/sink.err" &
    pid=$!
    wait_bound "$port"
    sent=$("$sender" --port "$port" --rate 30000 --duration 1 --exporters 2 --records 30 \
        --template-every 100) || fail "sender failed: $sent"
    kill -TERM "$pid"
    wait "$pid"; rc=$?
    pid=
    expect_rc 0 $rc "sink exit after SIGTERM ($args)"
    out="$work/sink.out"
    grep -q '^sink: datagrams' "$out" || fail "no count line ($args): $(cat "$out" "$work/sink.err")"
    [ "$(json "$sent" send_errors)" = 0 ] || fail "sender errors: $sent"
    [ "$(json "$sent" flows)" = 30000 ] || fail "sender flows: $sent"
    want_dgrams=$(($(json "$sent" datagrams) + $(json "$sent" template_datagrams)))
    [ "$(sink_field "$out" datagrams)" = "$want_dgrams" ] ||
        fail "datagrams ($args): sink $(cat "$out"), sender $sent"
    [ "$(sink_field "$out" data_datagrams)" = "$(json "$sent" datagrams)" ] ||
        fail "data datagrams ($args): $(cat "$out")"
    [ "$(sink_field "$out" flows)" = 30000 ] || fail "flows ($args): $(cat "$out")"
    [ "$(sink_field "$out" bytes)" = "$(json "$sent" wire_bytes)" ] || fail "bytes ($args): $(cat "$out")"
    [ "$(sink_field "$out" kernel_drops)" = 0 ] || fail "drops at 1000 datagrams/s ($args)"
    n=$((n + 1))
done

"$sink" >/dev/null 2>&1; expect_rc 2 $? "sink without --port"
"$sender" >/dev/null 2>&1; expect_rc 2 $? "sender without --port"
pass $((n + 2))
