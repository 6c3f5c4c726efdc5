#!/bin/bash
# store_enospc.sh - a full disk (a 2 MiB tmpfs) is reported, the writer does not crash, no
# partial segment is left visible, and what was written stays readable. Needs root (mount);
# skipped otherwise.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
M=$T/mnt
mkdir -p "$M"
mount -t tmpfs -o size=2m tmpfs "$M" 2>/dev/null || { rm -rf "$T"; skip "cannot mount a tmpfs (not root?)"; }
trap 'umount "$M" 2>/dev/null; rm -rf "$T"' EXIT
printf '[store]\nbatch_records = 20000\nretention = 0\ncompression = "none"\n' > "$T/cfg"
awk 'BEGIN {
    print "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label";
    srand(7);
    for (i = 0; i < 200000; i++)
        printf "2024/01/02 10:%02d:%02d.%06d,%.3f,udp,%d.%d.%d.%d,%d,   ->,%d.%d.%d.%d,%d,CON,0,0,%d,%d,1,x\n",
            int(i / 4000) % 60, int(i / 67) % 60, i % 1000000, rand(), int(rand()*256), int(rand()*256),
            int(rand()*256), int(rand()*256), int(rand()*65536), int(rand()*256), int(rand()*256),
            int(rand()*256), int(rand()*256), int(rand()*65536), int(rand()*1000), int(rand()*100000);
}' > "$T/big.binetflow"

$BOTSCOPE import --format binetflow "$T/big.binetflow" --store "$M/store" --config "$T/cfg" -q 2>"$T/err"
rc=$?
[ $rc -lt 128 ] || fail "import crashed (exit $rc)"
expect_rc 1 $rc "import onto a full disk"
grep -qi "no space left on device" "$T/err" || fail "ENOSPC not reported: $(head -5 "$T/err")"
[ "$(find "$M/store" -name '.tmp.*' | wc -l)" -eq 0 ] || fail "temp file left on the full disk"
out=$($BOTSCOPE flows --store "$M/store" --count -o ndjson 2>"$T/qerr") || fail "query after ENOSPC"
[ ! -s "$T/qerr" ] || fail "corrupt data after ENOSPC: $(cat "$T/qerr")"
echo "$out" | grep -q '"flows":[1-9]' || fail "nothing readable after ENOSPC: $out"
pass
