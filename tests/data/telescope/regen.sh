#!/usr/bin/env bash
# Regenerates the expected outputs of the telescope golden tests after an intended change
# (review the diff before committing). The captures themselves: synth_golden.pcap comes from
# `botscope telescope --synth synth_golden.pcap --darknet 198.18.0.0/16,2001:db8:dead::/48
# --seed 1`; zmap.pcap, masscan.pcap and nmap.pcap from tests/integration/telescope_live.sh
# run with TEL_SAVE_DIR set to this directory (as root).
# Usage: tests/data/telescope/regen.sh path/to/botscope
set -euo pipefail
B=${1:?usage: regen.sh BOTSCOPE}
D=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$B" telescope --read "$D/synth_golden.pcap" --darknet 198.18.0.0/16,2001:db8:dead::/48 \
    --research-scanners "$D/research.txt" --pfx2as "$D/pfx2as.txt" --geo "$D/geo.csv" --out "$W/o"
for f in intervals intervals_5m intervals_1h intervals_1d sources victims; do
    cp "$W/o/$f.ndjson" "$D/expected/synth/"
done
: > "$W/nobogons.txt"
for t in zmap masscan nmap; do
    "$B" telescope --read "$D/$t.pcap" --darknet 198.18.7.0/24 --bogons "$W/nobogons.txt" --out "$W/$t"
    cp "$W/$t/sources.ndjson" "$D/expected/tools/$t.sources.ndjson"
    cp "$W/$t/intervals.ndjson" "$D/expected/tools/$t.intervals.ndjson"
done
