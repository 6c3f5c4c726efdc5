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
pass
