#!/bin/bash
# collect_offline.sh - the outcome of `collect --read` into a store (issue 21): a capture cut
# short is read up to the damage, its flows stored and the run exits 0 with a warning naming
# the damage (docs/RELIABILITY.md: exit 0 when everything readable was read and stored); a
# capture that gives nothing is a failure (exit 1), and the flows of the others are stored.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$BOTSCOPE" simulate --seed 3 --out "$T/sim" --scale 1 >/dev/null 2>&1 || fail "simulate"
head -c 300000 "$T/sim/exports.pcap" > "$T/cut.pcap"
"$BOTSCOPE" collect --read "$T/cut.pcap" --store "$T/s" 2>"$T/err"
expect_rc 0 $? "collect of a capture cut short: $(cat "$T/err")"
grep -q "cut.pcap: damaged capture: truncated" "$T/err" || fail "no warning: $(cat "$T/err")"
! grep -q "nothing could be read" "$T/err" || fail "says nothing could be read: $(cat "$T/err")"
recs=$(sed -n 's/^total: .* records \([0-9]*\),.*/\1/p' "$T/err")
[ -n "$recs" ] && [ "$recs" -gt 1000 ] || fail "records: '$recs'"
out=$("$BOTSCOPE" flows --store "$T/s" --count -o ndjson) || fail "query"
echo "$out" | grep -q "\"flows\":$recs," || fail "stored $out, the run said $recs"

# An unreadable capture beside a good one: exit 1, the good one's flows stored.
echo "not a capture" > "$T/junk.pcap"
"$BOTSCOPE" collect --read "$T/junk.pcap" "$T/cut.pcap" --store "$T/s2" 2>"$T/err"
expect_rc 1 $? "collect with an unreadable capture"
grep -q "cannot read .*junk.pcap" "$T/err" || fail "no error: $(cat "$T/err")"
out=$("$BOTSCOPE" flows --store "$T/s2" --count -o ndjson) || fail "query s2"
echo "$out" | grep -q "\"flows\":$recs," || fail "s2 stored $out, want $recs"
pass
