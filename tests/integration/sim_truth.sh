#!/usr/bin/env bash
# Ground truth agrees with the traffic: C&C contacts in the exported flows, Mirai bots in the
# darknet with seq == dst, backscatter from every spoofed attack's victim, flood flows,
# Mozi's P2P traffic, scanner fingerprints; and the telescope finds the bots and victims.
set -u
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || skip "tshark not installed"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
"$BOTSCOPE" simulate --seed 5 --duration 30m --out "$d" -q || fail "simulate exit $?"
"$BOTSCOPE" collect --read "$d/exports.pcap" --output ndjson >"$d/flows.ndjson" 2>/dev/null ||
    fail "collect exit $?"
tshark -r "$d/darknet.pcap" -T fields -e frame.time_epoch -e ip.src -e ip.dst -e ip.id \
    -e ip.proto -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.flags \
    >"$d/darknet.tsv" 2>/dev/null || fail "tshark exit $?"
dn=$(python3 -B -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["darknet"]["prefixes"]))' "$d/truth.json")
"$BOTSCOPE" telescope --read "$d/darknet.pcap" --darknet "$dn" --out "$d/tel" >/dev/null 2>&1 ||
    fail "telescope exit $?"
python3 -B "$(dirname "$0")/sim_check.py" "$d/truth.json" "$d/flows.ndjson" "$d/darknet.tsv" \
    "$d/tel" || fail "truth check"
pass
