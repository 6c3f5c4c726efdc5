#!/usr/bin/env bash
# The command table, --help and the exit-code contract of CLI.md.
set -u
. "$(dirname "$0")/lib.sh"

out=$("$BOTSCOPE" --help) || fail "--help exit $?"
grep -q "Exit status" <<<"$out" || fail "--help lacks the exit codes"
for c in collect flows import store telescope simulate config; do
    grep -q "^  $c " <<<"$out" || fail "--help lacks $c"
    "$BOTSCOPE" "$c" --help >/dev/null || fail "$c --help exit $?"
done
"$BOTSCOPE" nosuchcommand 2>/dev/null; expect_rc 2 $? "unknown command"
"$BOTSCOPE" 2>/dev/null; expect_rc 2 $? "no command"

cfg=$(mktemp); trap 'rm -f "$cfg"' EXIT
printf '[collect]\nthreads = two\n' >"$cfg"
err=$("$BOTSCOPE" config --check --config "$cfg" 2>&1); expect_rc 2 $? "bad config"
grep -q "$cfg:2: \[collect\] threads: expected an integer" <<<"$err" || fail "config error text: $err"
printf '[collect]\nnosuch = 1\n' >"$cfg"
err=$("$BOTSCOPE" config --check --config "$cfg" 2>&1); expect_rc 2 $? "unknown key"
grep -q "unknown key" <<<"$err" || fail "unknown key text: $err"
printf '[collect]\nthreads = 4\nallow = ["192.0.2.0/24", "2001:db8::/32"]\n' >"$cfg"
"$BOTSCOPE" config --check --config "$cfg" >/dev/null || fail "valid config rejected"
"$BOTSCOPE" config --defaults | grep -q '^\[telescope\]' || fail "defaults lack [telescope]"
# Ranges, words, duplicates and directories are refused at load, naming file, line and key;
# a command given such a file stops with exit 2 before doing anything (issue 21).
"$BOTSCOPE" config --defaults >"$cfg" && "$BOTSCOPE" config --check --config "$cfg" >/dev/null ||
    fail "the defaults do not pass --check"
err=$("$BOTSCOPE" config --check --config /tmp 2>&1); expect_rc 2 $? "directory as config"
grep -q "/tmp: not a regular file" <<<"$err" || fail "directory text: $err"
printf '[collect]\nthreads = -1\n' >"$cfg"
err=$("$BOTSCOPE" config --check --config "$cfg" 2>&1); expect_rc 2 $? "threads = -1"
grep -q "$cfg:2: \[collect\] threads: -1 is out of range" <<<"$err" || fail "range text: $err"
printf '[store]\ncompression = "gzip"\n' >"$cfg"
err=$("$BOTSCOPE" flows --store /nonexistent --config "$cfg" 2>&1); expect_rc 2 $? "flows with gzip"
grep -q "$cfg:2: \[store\] compression: 'gzip' is not one of auto|zstd|lz4|none" <<<"$err" || fail "words text: $err"
printf 'log_level = "loud"\n' >"$cfg"
"$BOTSCOPE" config --check --config "$cfg" >/dev/null 2>&1; expect_rc 2 $? "log_level = loud"
printf '[store]\nretention = 1d\nretention = 2d\n' >"$cfg"
err=$("$BOTSCOPE" config --check --config "$cfg" 2>&1); expect_rc 2 $? "duplicate key"
grep -q "$cfg:3: \[store\] retention: set twice (first on line 2)" <<<"$err" || fail "dup text: $err"
pass
