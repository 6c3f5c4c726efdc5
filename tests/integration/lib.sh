# lib.sh - helpers for integration scripts. Each script prints "1 passed, 0 failed" or fails.
: "${BOTSCOPE:?BOTSCOPE must point at the built binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { [ "$2" -eq "$1" ] || fail "$3: expected exit $1, got $2"; }
pass() { echo "${1:-1} passed, 0 failed"; exit 0; }
skip() { echo "SKIP: $*"; exit 77; }
