#!/usr/bin/env bash
# A peer collector reads the simulator's exports: nfcapd (nfdump 1.7) receives them over
# loopback with --send and stores exactly the v9 and IPFIX records the simulator reports,
# with no bad packet and no sequence error (nfcapd does not take sFlow; sfcapd does).
set -u
. "$(dirname "$0")/lib.sh"
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || skip "nfdump not installed"
d=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$d"' EXIT
port=$(python3 -B -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run() { # NAME ARGS...
    local name=$1; shift
    mkdir -p "$d/$name/nf"
    nfcapd -w "$d/$name/nf" -p "$port" -b 127.0.0.1 -B 8000000 >"$d/$name/nfcapd.log" 2>&1 &
    pid=$!
    sleep 0.5
    "$BOTSCOPE" simulate --seed 12 --duration 5m "$@" --out "$d/$name/o" \
        --send "127.0.0.1:$port" --rate 20000 -q || fail "$name: simulate exit $?"
    sleep 0.5
    kill -TERM "$pid"; wait "$pid"; pid=
    want=$(python3 -B -c 'import json,sys; o=json.load(open(sys.argv[1]))["outputs"]["exports"]; print(o["v9_records"] + o["ipfix_records"])' "$d/$name/o/truth.json")
    line=$(grep "Flows:" "$d/$name/nfcapd.log") || fail "$name: no nfcapd summary"
    grep -q "Flows: $want," <<<"$line" || fail "$name: nfcapd stored '$line', expected $want flows"
    grep -q "Bad Packets: 0" <<<"$line" || fail "$name: $line"
    grep -q "Sequence Errors: 0" <<<"$line" || fail "$name: $line"
    n=$(nfdump -R "$d/$name/nf" -q -o csv 2>/dev/null | grep -c '^[0-9]')
    [ "$n" -eq "$want" ] || fail "$name: nfdump lists $n flows, expected $want"
}
run v9 --format v9 --sampling 10
run ipfix --format ipfix
pass
