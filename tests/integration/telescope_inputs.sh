#!/usr/bin/env bash
# Telescope inputs: a FIFO named *.pcap in an input directory is skipped (only regular files
# are read), never waited on; an input that cannot be read at all makes the run exit 1 after
# the readable ones are used and the outputs written, with a summary naming it (the rule of
# collect --read); a capture damaged after some packets is a warning and exit 0.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
D="$BS_SOURCE_DIR/tests/data/telescope"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
G="$D/synth_golden.pcap"
tel() { timeout 60 "$BOTSCOPE" telescope --darknet 198.18.0.0/16 "$@"; }

# 1. a FIFO in the directory: skipped with a warning, the run completes (exit 0)
mkdir "$W/d1"
cp "$G" "$W/d1/a.pcap"
mkfifo "$W/d1/b.pcap"
rc=0; tel --read "$W/d1" --out "$W/o1" 2>"$W/e1" || rc=$?
[ $rc -ne 124 ] || fail "the telescope waited on a FIFO named b.pcap"
expect_rc 0 $rc "directory with a FIFO ($(cat "$W/e1"))"
grep -q "b.pcap: not a regular file, skipped" "$W/e1" || fail "no warning for the FIFO: $(cat "$W/e1")"
tel --read "$G" --out "$W/ref" 2>/dev/null || fail "reference run"
cmp -s "$W/o1/intervals.ndjson" "$W/ref/intervals.ndjson" || fail "FIFO run differs from the reference"

# 2. an unreadable input beside a good one: exit 1, named, outputs complete from the good one
printf 'not a capture\n' >"$W/d1/c.pcap"
rm "$W/d1/b.pcap"
rc=0; tel --read "$W/d1" --out "$W/o2" 2>"$W/e2" || rc=$?
expect_rc 1 $rc "one unreadable input of two"
grep -q "1 of 2 inputs could not be read: $W/d1/c.pcap" "$W/e2" || fail "no summary: $(cat "$W/e2")"
cmp -s "$W/o2/intervals.ndjson" "$W/ref/intervals.ndjson" || fail "outputs of the readable input"
jq -e '.inputs | length == 2' "$W/o2/provenance.json" >/dev/null || fail "provenance inputs"
# the same inputs given one by one, and collect --read on them: both exit 1
rc=0; tel --read "$G" --read "$W/d1/c.pcap" --out "$W/o3" 2>/dev/null || rc=$?
expect_rc 1 $rc "telescope with an unreadable file argument"
rc=0; "$BOTSCOPE" collect --read "$G" "$W/d1/c.pcap" --output ndjson >/dev/null 2>&1 || rc=$?
expect_rc 1 $rc "collect --read with an unreadable file (the same rule)"

# 3. a capture cut short after some packets: a warning, the packets before are used, exit 0
sz=$(stat -c %s "$G")
head -c $((sz / 2 + 7)) "$G" >"$W/cut.pcap"
rc=0; tel --read "$W/cut.pcap" --out "$W/o4" 2>"$W/e4" || rc=$?
expect_rc 0 $rc "truncated capture ($(cat "$W/e4"))"
grep -q "packets before the damage were used" "$W/e4" || fail "no warning for the cut capture"
[ -s "$W/o4/intervals.ndjson" ] || fail "no output from the packets before the cut"
pass
