#!/usr/bin/env bash
# ch_detect.sh - detection's feature extraction (store_scan) on ClickHouse: a simulated
# world's exports collected into ClickHouse and into the embedded store, its darknet through
# the telescope for seeds, then `botscope detect` on both stores gives the same candidates
# (every field but the detection time), and finds some.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin
ch_start a
U=$CH_URL_a
C=$T/bs.conf
ch_botscope_config "$C"
echo "spool_dir = \"$T/spool\"" >>"$C"
$B simulate --seed 3 --out "$T/w" >/dev/null || fail "simulate"
$B collect --read "$T/w/exports.pcap" --store "$U" --config "$C" >/dev/null 2>&1 || fail "collect into ClickHouse"
$B collect --read "$T/w/exports.pcap" --store "$T/emb" >/dev/null 2>&1 || fail "collect into embedded"
$B telescope --read "$T/w/darknet.pcap" --darknet 25.240.0.0/20 --out "$T/tel" >/dev/null 2>&1 ||
    fail "telescope"
nodet() { python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); r.pop("detected_ms", None); print(json.dumps(r, sort_keys=True))'; }
$B detect --store "$U" --config "$C" --seeds "$T/tel/sources.ndjson" --no-state -o ndjson \
    2>"$T/d1.err" | nodet >"$T/c.ch" || fail "detect on ClickHouse: $(cat "$T/d1.err")"
$B detect --store "$T/emb" --seeds "$T/tel/sources.ndjson" --no-state -o ndjson 2>"$T/d2.err" |
    nodet >"$T/c.emb" || fail "detect on embedded: $(cat "$T/d2.err")"
[ -s "$T/c.emb" ] || fail "no candidates at all: $(cat "$T/d2.err")"
cmp -s "$T/c.ch" "$T/c.emb" || { diff "$T/c.ch" "$T/c.emb" | head -4 >&2; fail "candidates differ"; }
echo "$(wc -l <"$T/c.ch") candidates, the same from both stores" >&2
pass 1
