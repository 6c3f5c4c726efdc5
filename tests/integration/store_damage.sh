#!/bin/bash
# store_damage.sh - damage to a store is reported on every query, by `store info` and by
# `store check` (exit 1), never answered silently (issue 21): a segment truncated to 0 bytes,
# a deleted one, a duplicated one, a flipped byte inside a block.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S=$T/store
printf '[store]\nbatch_records = 1000\nretention = 0\n' > "$T/cfg"
awk 'BEGIN {
    print "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label";
    for (i = 0; i < 4000; i++)
        printf "2024/01/02 10:%02d:%02d.%03d,0.5,tcp,10.0.%d.%d,%d,->,192.0.2.1,23,S_,0,0,1,60,60,x\n",
            int(i / 1000) * 10, (i / 20) % 50, i % 1000, int(i / 256) % 256, i % 256, 1024 + i;
}' > "$T/in.binetflow"
$BOTSCOPE import --format binetflow "$T/in.binetflow" --store "$S" --config "$T/cfg" -q || fail "import"
$BOTSCOPE store check --store "$S" > "$T/out" || fail "check of a sound store: $(cat "$T/out")"
grep -q "4000 records: 0 damaged segments, 0 corrupt blocks" "$T/out" || fail "check: $(cat "$T/out")"

segs=$(find "$S/flows" -name '*.seg' | sort)
[ "$(echo "$segs" | wc -l)" -ge 4 ] || fail "want at least 4 segments: $segs"
one=$(echo "$segs" | sed -n 2p)
: > "$one"
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 2>"$T/err") || fail "query of a damaged store"
grep -q "0 bytes, .* committed (truncated or changed)" "$T/err" || fail "no warning: $(cat "$T/err")"
grep -q "1 damaged segments: 1000 records missing from this answer" "$T/err" || fail "no summary on stderr: $(cat "$T/err")"
echo "$out" | grep -q '"flows":3000,.*"segments_damaged":1,"records_missing":1000' || fail "ndjson: $out"
$BOTSCOPE flows --store "$S" 'dst port 23' -n 1 2>/dev/null | grep -q "^Damaged segments: 1, 1000 records missing" || fail "table summary"
$BOTSCOPE store info --store "$S" > "$T/out" 2>/dev/null
expect_rc 1 $? "store info of a damaged store"
grep -q "^damage: *1 segments, 1000 records missing" "$T/out" || fail "info: $(cat "$T/out")"

# Deleted and duplicated segments; a flipped byte inside a block (same size: only decoding
# finds it).
two=$(echo "$segs" | sed -n 3p)
three=$(echo "$segs" | sed -n 4p)
rm "$two"
cp "$three" "${three%_*}_77777777.seg"
first=$(echo "$segs" | sed -n 1p)
printf '\xff' | dd of="$first" bs=1 seek=40 conv=notrunc status=none
$BOTSCOPE store check --store "$S" > "$T/out" 2>/dev/null
expect_rc 1 $? "store check of a damaged store"
grep -q "^damaged: $two: committed segment missing (1000 records" "$T/out" || fail "missing: $(cat "$T/out")"
grep -q "^damaged: ${three%_*}_77777777.seg: segment not in the MANIFEST" "$T/out" || fail "dup: $(cat "$T/out")"
grep -q "^damaged: $first: block 0 is corrupt" "$T/out" || fail "block: $(cat "$T/out")"
grep -q "3 damaged segments, 1 corrupt blocks, 3000 records missing" "$T/out" || fail "summary: $(cat "$T/out")"
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 2>/dev/null)
echo "$out" | grep -q '"flows":1000,' || fail "only the sound segment is counted, once: $out"
pass
