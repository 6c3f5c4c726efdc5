#!/usr/bin/env bash
# The metrics endpoint cannot hold up the collector: a client trickling one byte every 1.5 s
# stays connected while the collector receives flows, flushes segments to the store and stops
# promptly on SIGTERM; other clients are answered meanwhile; connections per address and
# request heads are bounded. Traffic goes only to 127.0.0.0/8.
set -u
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
send() { python3 "$here/collect_send.py" "$@"; }
work=$(mktemp -d)
pid=
slow=
cleanup() {
    [ -n "$slow" ] && kill "$slow" 2>/dev/null
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(send --to 127.0.0.1:1 --kind port-free)
mport=$(send --to 127.0.0.1:1 --kind port-free)
st="$work/store"
"$BOTSCOPE" collect --listen "127.0.0.1:$port" --store "$st" --no-state --flush-interval 1s \
    --metrics "127.0.0.1:$mport" --stats-interval 0 -v 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
    grep -q "collector running" "$work/log" && break
    kill -0 "$pid" 2>/dev/null || fail "collector died: $(cat "$work/log")"
    sleep 0.1
done

# The trickling client: one byte of a never-ending request head every 1.5 s.
python3 - "$mport" >"$work/slow.out" 2>&1 <<'EOF2' &
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
msg = b'GET /metrics HTTP/1.1\r\nX-Slow: ' + b'a' * 100000
for b in msg:
    try:
        s.send(bytes([b]))
    except OSError:
        break
    time.sleep(1.5)
EOF2
slow=$!
sleep 0.5

# While it trickles: flows are received and flushed to the store within the flush interval.
send --to "127.0.0.1:$port" --src 127.0.0.2 --kind v5 --datagrams 20 --flows 30
ok=0
for _ in $(seq 40); do
    n=$("$BOTSCOPE" flows --store "$st" -o ndjson 2>/dev/null | wc -l)
    [ "$n" -eq 600 ] && { ok=1; break; }
    sleep 0.1
done
[ $ok -eq 1 ] || fail "flows not flushed while a slow metrics client was connected ($n of 600)"

python3 - "$mport" <<'EOF2' || fail "metrics while a slow client is connected"
import socket, sys, time, urllib.request, urllib.error
port = int(sys.argv[1])
url = 'http://127.0.0.1:%d/metrics' % port
# Another client is answered at once, with the flows counted.
t0 = time.time()
body = urllib.request.urlopen(url, timeout=3).read().decode()
assert time.time() - t0 < 2, 'slow answer'
assert 'botscope_collect_records_written_total 600' in body, body[:2000]
# Seven idle connections and the slow one fill 127.0.0.1's share of 8; a ninth is refused while a
# client from 127.0.0.3 is still answered.
idle = [socket.create_connection(('127.0.0.1', port)) for _ in range(7)]
time.sleep(0.3)
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(3)
s.sendall(b'GET /metrics HTTP/1.0\r\n\r\n')
try:
    got = s.recv(100)
except (ConnectionResetError, socket.timeout):
    got = b''
assert got == b'', 'a ninth connection from one address was served: %r' % got
s3 = socket.create_connection(('127.0.0.1', port), source_address=('127.0.0.3', 0))
s3.settimeout(3)
s3.sendall(b'GET /metrics HTTP/1.0\r\n\r\n')
got = s3.recv(100)
assert got.split(b' ')[1] == b'200', 'other address not served: %r' % got
for c in idle:
    c.close()
s3.close()
time.sleep(0.3)
# A request head past the cap is refused, not buffered.
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(3)
s.sendall(b'GET /metrics HTTP/1.0\r\nX-Big: ' + b'b' * 20000 + b'\r\n\r\n')
head = s.recv(100)
assert head.split(b' ')[1] in (b'431', b'413', b'414'), head
# Methods and paths.
for method, path, want in (('POST', '/metrics', 405), ('GET', '/nothere', 404)):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=b'x' if method == 'POST' else None)
    try:
        urllib.request.urlopen(req, timeout=3)
        raise AssertionError('%s %s answered 200' % (method, path))
    except urllib.error.HTTPError as e:
        assert e.code == want, (method, path, e.code)
EOF2

# SIGTERM with the slow client still connected: the collector stops within 3 s, exit 0.
kill -0 "$slow" 2>/dev/null || fail "the slow client ended early: $(cat "$work/slow.out")"
kill -TERM "$pid"
for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "collector still running 3 s after SIGTERM (slow metrics client)"
wait "$pid"; rc=$?
pid=
expect_rc 0 $rc "collector exit after SIGTERM"
[ "$("$BOTSCOPE" flows --store "$st" -o ndjson | wc -l)" -eq 600 ] || fail "flows after stop"
pass
