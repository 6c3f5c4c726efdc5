#!/bin/bash
# telescope_enospc.sh - the telescope on a full disk (a 2 MiB tmpfs): exit 1 with "No space
# left on device", and nothing half-written under a final name (no NDJSON cut mid-line, no
# empty provenance.json), no temporary file left; an earlier complete run's files stay as they
# were. Needs root (mount); skipped otherwise.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
M=$T/mnt
mkdir -p "$M"
mount -t tmpfs -o size=2m tmpfs "$M" 2>/dev/null || { rm -rf "$T"; skip "cannot mount a tmpfs (not root?)"; }
trap 'umount "$M" 2>/dev/null; rm -rf "$T"' EXIT
G="$BS_SOURCE_DIR/tests/data/telescope/synth_golden.pcap"
tel() { timeout 120 "$BOTSCOPE" telescope --darknet 198.18.0.0/16 "$@"; }

# an earlier, small, complete run in the same output directory
tel --read "$G" --out "$M/out" 2>"$T/e0" || fail "small run: $(cat "$T/e0")"
for f in "$M/out"/*; do cp "$f" "$T/before.$(basename "$f")"; done

# ~8 MB of source lines do not fit in 2 MiB
tel --synth "$T/big.pcap" --scenario bench --packets 100000 --sources 20000 2>/dev/null ||
    fail "synth"
rc=0; tel --read "$T/big.pcap" --out "$M/out" 2>"$T/err" || rc=$?
[ $rc -lt 128 ] || fail "telescope crashed (exit $rc)"
expect_rc 1 $rc "telescope onto a full disk"
grep -qi "no space left on device" "$T/err" || fail "ENOSPC not reported: $(cat "$T/err")"
grep -q "no output written to $M/out" "$T/err" || fail "no statement about the outputs: $(cat "$T/err")"
[ "$(find "$M/out" -name '.*.tmp' | wc -l)" -eq 0 ] || fail "temporary files left: $(ls -a "$M/out")"
# the files under the final names are the earlier run's, byte for byte
for f in "$M/out"/*; do
    cmp -s "$f" "$T/before.$(basename "$f")" || fail "$(basename "$f") changed by the failed run"
done
[ "$(ls "$M/out" | wc -l)" -eq "$(ls "$T" | grep -c '^before\.')" ] || fail "new files appeared"

# a first run that fails leaves no output at all
rc=0; tel --read "$T/big.pcap" --out "$M/fresh" 2>/dev/null || rc=$?
expect_rc 1 $rc "first run onto a full disk"
[ -z "$(ls -A "$M/fresh" 2>/dev/null)" ] || fail "a failed first run left: $(ls -a "$M/fresh")"
pass
