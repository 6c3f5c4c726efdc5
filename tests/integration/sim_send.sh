#!/usr/bin/env bash
# --send: export datagrams go to a loopback collector, one source address per exporter, and
# the count matches the capture; destinations outside loopback are refused without
# --allow-remote (nothing is ever sent off the machine here).
set -u
. "$(dirname "$0")/lib.sh"
d=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$d"' EXIT
python3 -B - "$d" <<'PY' &
import socket, sys, time
d = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", 0))
open(d + "/port.tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(d + "/port.tmp", d + "/port")
s.settimeout(20)
n, srcs, size = 0, set(), 0
try:
    while True:
        data, addr = s.recvfrom(65535)
        n += 1; size += len(data); srcs.add(addr[0])
        s.settimeout(2)
except socket.timeout:
    pass
open(d + "/got", "w").write("%d %d %d\n" % (n, len(srcs), size))
PY
pid=$!
for _ in $(seq 50); do [ -s "$d/port" ] && break; sleep 0.1; done
port=$(cat "$d/port") || fail "receiver did not start"
out=$("$BOTSCOPE" simulate --seed 6 --duration 3m --out "$d/o" --send "127.0.0.1:$port" --rate 4000) ||
    fail "simulate --send exit $?"
wait "$pid"; pid=
read -r n srcs size <"$d/got"
sent=$(sed -n 's/^sent \([0-9]*\) datagrams.*/\1/p' <<<"$out")
frames=$(python3 -B -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"]["exports"]["datagrams"])' "$d/o/truth.json")
[ "$sent" = "$frames" ] || fail "sent $sent datagrams, the capture has $frames"
[ "$n" = "$frames" ] || fail "received $n of $frames datagrams"
[ "$srcs" -eq 6 ] || fail "expected 6 exporter source addresses, got $srcs"

err=$("$BOTSCOPE" simulate --out "$d/r" --send 192.0.2.1:2055 2>&1); expect_rc 2 $? "remote --send"
grep -q "allow-remote" <<<"$err" || fail "refusal message: $err"
"$BOTSCOPE" simulate --out "$d/r" --send "[2001:db8::1]:2055" 2>/dev/null; expect_rc 2 $? "remote v6"
"$BOTSCOPE" simulate --out "$d/r" --send "localhost:2055" 2>/dev/null; expect_rc 2 $? "names"
[ -e "$d/r" ] && fail "a refused run created its output directory"
pass
