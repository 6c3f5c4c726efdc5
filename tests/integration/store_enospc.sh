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

# A small file that fits, then a big one that does not: the first is stored whole, nothing of
# the second (issue 21: a partial import was committed with contradictory messages, so a rerun
# duplicated data); the messages say which file to rerun and agree with what is stored.
head -1001 "$T/big.binetflow" > "$T/small.binetflow"
$BOTSCOPE import --format binetflow "$T/small.binetflow" "$T/big.binetflow" --store "$M/store" --config "$T/cfg" 2>"$T/err"
rc=$?
[ $rc -lt 128 ] || fail "import crashed (exit $rc)"
expect_rc 1 $rc "import onto a full disk"
grep -qi "no space left on device" "$T/err" || fail "ENOSPC not reported: $(head -5 "$T/err")"
grep -q "big.binetflow: No space left on device: nothing of this file was stored" "$T/err" || fail "no all-or-nothing message: $(cat "$T/err")"
grep -q "rerun the import with this file" "$T/err" || fail "no resume advice: $(cat "$T/err")"
small=$(awk -F, 'NR > 1 {n += ($13 > $14) ? 2 : 1} END {print n}' "$T/small.binetflow")
grep -q "^botscope import: $small records from 1001 lines (0 bad)" "$T/err" || fail "summary disagrees: $(cat "$T/err")"
! grep -q "could not be written\|records lost" "$T/err" || fail "contradictory messages: $(cat "$T/err")"
[ "$(find "$M/store" -name '.tmp.*' | wc -l)" -eq 0 ] || fail "temp file left on the full disk"
out=$($BOTSCOPE flows --store "$M/store" --count -o ndjson 2>"$T/qerr") || fail "query after ENOSPC"
[ ! -s "$T/qerr" ] || fail "damaged data after ENOSPC: $(cat "$T/qerr")"
echo "$out" | grep -q "\"flows\":$small," || fail "want exactly the first file's $small records: $out"
$BOTSCOPE store check --store "$M/store" >/dev/null || fail "store check after ENOSPC"

# collect --read, same rule: a capture that fits, then one that does not.
umount "$M" && mount -t tmpfs -o size=2m tmpfs "$M" || fail "remount"
$BOTSCOPE simulate --seed 3 --out "$T/sim" --scale 1 >/dev/null 2>&1 || fail "simulate"
head -c 300000 "$T/sim/exports.pcap" > "$T/small.pcap"
$BOTSCOPE collect --read "$T/small.pcap" --store "$T/ref" 2>/dev/null || true
want=$($BOTSCOPE flows --store "$T/ref" --count -o ndjson | sed 's/,"first_ms.*//')
$BOTSCOPE collect --read "$T/small.pcap" "$T/sim/exports.pcap" --store "$M/store" 2>"$T/err"
rc=$?
[ $rc -lt 128 ] || fail "collect crashed (exit $rc)"
expect_rc 1 $rc "collect onto a full disk"
grep -q "exports.pcap: No space left on device: nothing of this capture was stored ([0-9]* records)" "$T/err" || fail "no all-or-nothing message: $(cat "$T/err")"
n=$(sed -n 's/.*nothing of this capture was stored (\([0-9]*\) records).*/\1/p' "$T/err")
grep -q "writing records failed: No space left on device ($n records lost)" "$T/err" || fail "final message disagrees: $(cat "$T/err")"
! grep -q "could not be written" "$T/err" || fail "contradictory messages: $(cat "$T/err")"
[ "$(find "$M/store" -name '.tmp.*' | wc -l)" -eq 0 ] || fail "temp file left (collect)"
got=$($BOTSCOPE flows --store "$M/store" --count -o ndjson 2>"$T/qerr" | sed 's/,"first_ms.*//')
[ "$got" = "$want" ] || fail "want exactly the first capture's flows ($want), got $got"
$BOTSCOPE store check --store "$M/store" >/dev/null || fail "store check after ENOSPC (collect)"
pass
