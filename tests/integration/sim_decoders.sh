#!/usr/bin/env bash
# The decoders read every simulator output: botscope collect decodes the exports with zero
# errors and exactly the flow count the simulator reports, in every format and with sampling;
# tshark reads both captures without a malformed packet or a bad checksum.
set -u
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || skip "tshark not installed"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT

check_collect() { # DIR
    "$BOTSCOPE" collect --read "$1/exports.pcap" --output ndjson >"$1/flows.ndjson" 2>"$1/collect.err" ||
        fail "collect exit $? on $1: $(cat "$1/collect.err")"
    grep -q "undecodable 0" "$1/collect.err" || fail "undecodable datagrams: $(cat "$1/collect.err")"
    grep "^exporter" "$1/collect.err" | grep -v "errors 0, bad_datagrams 0, no_template 0, seq_gaps 0, lost_flows 0" &&
        fail "decode errors in $1: $(cat "$1/collect.err")"
    want=$(python3 -B -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"]["exports"]["flow_records"])' "$1/truth.json")
    got=$(wc -l <"$1/flows.ndjson")
    [ "$got" -eq "$want" ] || fail "$1: collect decoded $got records, simulator reports $want"
    [ "$got" -gt 0 ] || fail "$1: no records"
}

check_tshark() { # FILE
    bad=$(tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
          -o udp.check_checksum:TRUE -Y '_ws.malformed || _ws.expert.severity >= "error"' \
          -T fields -e frame.number 2>/dev/null | wc -l)
    [ "$bad" -eq 0 ] || fail "$1: $bad frames malformed or with errors per tshark"
    tshark -r "$1" -q -z io,stat,0 >/dev/null 2>&1 || fail "tshark cannot read $1"
}

"$BOTSCOPE" simulate --seed 3 --duration 15m --out "$d/mixed" -q || fail "simulate exit $?"
check_collect "$d/mixed"
check_tshark "$d/mixed/exports.pcap"
check_tshark "$d/mixed/darknet.pcap"
# captures are in time order (exports strictly, the darknet non-decreasing)
back=$(tshark -r "$d/mixed/exports.pcap" -T fields -e frame.time_epoch 2>/dev/null |
       awk 'NR > 1 && $1 <= p { b++ } { p = $1 } END { print b + 0 }')
[ "$back" -eq 0 ] || fail "exports.pcap: $back timestamps do not increase"
back=$(tshark -r "$d/mixed/darknet.pcap" -T fields -e frame.time_epoch 2>/dev/null |
       awk 'NR > 1 && $1 < p { b++ } { p = $1 } END { print b + 0 }')
[ "$back" -eq 0 ] || fail "darknet.pcap: $back timestamps go backwards"
n=$(tshark -r "$d/mixed/darknet.pcap" -T fields -e frame.number 2>/dev/null | wc -l)
grep -q "\"packets\":$n," "$d/mixed/truth.json" || fail "darknet packet count $n not in truth"
# sampled exporters announce their rate in options data; every record carries it
for f in v9 ipfix sflow; do
    "$BOTSCOPE" simulate --seed 4 --duration 5m --format $f --sampling 64 --out "$d/$f" -q ||
        fail "simulate $f exit $?"
    check_collect "$d/$f"
    grep -v '"sampling_rate":64,' "$d/$f/flows.ndjson" | head -1 | grep -q . &&
        fail "$f: a record without sampling_rate 64"
done
check_tshark "$d/ipfix/exports.pcap"
pass
