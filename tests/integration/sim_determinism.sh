#!/usr/bin/env bash
# botscope simulate: same seed -> identical bytes in every file; another seed -> different
# files; usage errors exit 2 and name the option.
set -u
. "$(dirname "$0")/lib.sh"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT

"$BOTSCOPE" simulate --seed 9 --duration 10m --out "$d/a" >"$d/a.txt" || fail "run a exit $?"
"$BOTSCOPE" simulate --seed 9 --duration 10m --out "$d/b" -q || fail "run b exit $?"
"$BOTSCOPE" simulate --seed 10 --duration 10m --out "$d/c" -q || fail "run c exit $?"
for f in truth.json exports.pcap darknet.pcap; do
    [ -s "$d/a/$f" ] || fail "$f missing or empty"
    cmp -s "$d/a/$f" "$d/b/$f" || fail "$f differs between two runs with the same seed"
    cmp -s "$d/a/$f" "$d/c/$f" && fail "$f identical for seeds 9 and 10"
done
# one line per file with its size, and the counts
for f in truth.json exports.pcap darknet.pcap; do
    sz=$(stat -c %s "$d/a/$f")
    grep -q "^$d/a/$f: $sz bytes" "$d/a.txt" || fail "no size line for $f: $(cat "$d/a.txt")"
done
grep -q "flow records" "$d/a.txt" || fail "no flow count printed"
# the world does not depend on traffic parameters: same infections with another format
"$BOTSCOPE" simulate --seed 9 --duration 10m --format sflow --sampling 64 --out "$d/e" -q ||
    fail "sflow run exit $?"
python3 -B - "$d/a/truth.json" "$d/e/truth.json" <<'PY' || fail "world changed with the export format"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("infections", "c2_servers", "ddos_attacks", "vulnerable_devices"):
    assert a[k] == b[k], k
PY
# --start moves every timestamp
"$BOTSCOPE" simulate --seed 9 --duration 10m --start "2026-06-01 12:00" --out "$d/f" -q ||
    fail "--start run exit $?"
grep -q '"start_ms":1780315200000' "$d/f/truth.json" || fail "--start not applied"

"$BOTSCOPE" simulate --seed 1 2>/dev/null; expect_rc 2 $? "missing --out"
err=$("$BOTSCOPE" simulate --out "$d/x" --format v7 2>&1); expect_rc 2 $? "bad --format"
grep -q -- "--format" <<<"$err" || fail "bad --format message: $err"
"$BOTSCOPE" simulate --out "$d/x" --sampling 0 2>/dev/null; expect_rc 2 $? "--sampling 0"
"$BOTSCOPE" simulate --out "$d/x" --scale 0 2>/dev/null; expect_rc 2 $? "--scale 0"
"$BOTSCOPE" simulate --out "$d/x" --duration soon 2>/dev/null; expect_rc 2 $? "bad --duration"
printf '[simulate]\nformat = v7\n' >"$d/bad.conf"
err=$("$BOTSCOPE" simulate --out "$d/x" --config "$d/bad.conf" 2>&1); expect_rc 2 $? "bad config"
grep -q "format" <<<"$err" || fail "config error message: $err"
printf '[simulate]\nseed = 9\nduration = 10m\n' >"$d/good.conf"
"$BOTSCOPE" simulate --out "$d/g" --config "$d/good.conf" -q || fail "config run exit $?"
cmp -s "$d/a/exports.pcap" "$d/g/exports.pcap" || fail "config values not applied"
"$BOTSCOPE" simulate --out /proc/nonexistent/dir 2>/dev/null; expect_rc 1 $? "unwritable --out"
pass
