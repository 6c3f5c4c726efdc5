#!/bin/bash
# store_crash.sh - kill -9 of a writer mid-import: an import is all or nothing per file, so
# nothing of the killed file is visible and the files before it are whole; every segment reads
# without damage, `store info` and `flows --count` agree, the next writer removes temp files,
# and a rerun of the file stores it once.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
S=$T/store
N=400000
printf '[store]\nbatch_records = 20000\nretention = 0\n' > "$T/cfg"
# A big binetflow file, generated (deterministic), in time order; SYN-only (all bytes from the
# source), so each line is one record.
awk -v n=$N 'BEGIN {
    print "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label";
    for (i = 0; i < n; i++) {
        s = 1000 + i * 0.01; h = int(s / 3600); m = int((s % 3600) / 60); sec = s % 60;
        printf "2024/01/02 %02d:%02d:%09.6f,0.5,tcp,10.%d.%d.%d,%d,   ->,192.0.2.%d,23,S_,0,0,%d,%d,%d,x\n",
            h, m, sec, int(i / 65536) % 256, int(i / 256) % 256, i % 256, 1024 + i % 60000, i % 200, 1 + i % 7, 60 * (1 + i % 7), 60 * (1 + i % 7);
    }
}' > "$T/big.binetflow"

# A first file, stored whole, then the big one, killed part-way.
head -20001 "$T/big.binetflow" | sed 's/,23,S_,/,24,S_,/' > "$T/first.binetflow"
$BOTSCOPE import --format binetflow "$T/first.binetflow" --store "$S" --config "$T/cfg" -q || fail "first import"
$BOTSCOPE import --format binetflow "$T/big.binetflow" --store "$S" --config "$T/cfg" -q &
pid=$!
# Wait until a few segments are written (as temp files: an import is all or nothing per
# file), then kill the writer without warning.
for _ in $(seq 1 600); do
    n=$(find "$S/flows" -name '.tmp.*.seg' 2>/dev/null | wc -l)
    [ "$n" -ge 3 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || skip "the import finished before it could be killed"
wait $pid 2>/dev/null

# Readers see the first file whole and nothing of the killed one, with no damage.
info=$($BOTSCOPE store info --store "$S") || fail "store info after crash: $info"
recs=$(echo "$info" | awk '/^records:/ {print $2}')
[ "$recs" = 20000 ] || fail "records after crash: $recs, want the first file's 20000"
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 2>"$T/err") || fail "query after crash"
echo "$out" | grep -q "\"flows\":20000," || fail "count $out vs info $recs"
[ ! -s "$T/err" ] || fail "warnings after crash: $(cat "$T/err")"

# The next writer cleans the tree; a rerun of the killed file stores it once, whole.
$BOTSCOPE store init --store "$S" --config "$T/cfg" >/dev/null 2>&1 || fail "reopen for write"
[ "$(find "$S" -name '.tmp.*' | wc -l)" -eq 0 ] || fail "temp files left after reopen"
$BOTSCOPE import --format binetflow "$T/big.binetflow" --store "$S" --config "$T/cfg" -q || fail "rerun"
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 'dst port 23') || fail "query after rerun"
echo "$out" | grep -q "\"flows\":$N," || fail "after rerun: $out, want $N"
$BOTSCOPE store check --store "$S" >/dev/null || fail "store check after rerun"
pass
