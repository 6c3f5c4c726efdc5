#!/usr/bin/env bash
# Conformance of `botscope collect --read` with tshark 4.0 over the shared flow corpus: every
# decoded field, record by record, plus the MANIFEST.tsv totals and the malformed inputs.
# The comparer and its documented exceptions: collect_conformance.py.
set -u
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || skip "tshark not installed"
command -v mergecap >/dev/null || skip "mergecap not installed"
command -v python3 >/dev/null || skip "python3 not installed"
[ -d "$BS_CORPUS_DIR/more-vendors" ] || skip "no corpus at $BS_CORPUS_DIR"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
out=$(python3 "$(dirname "$0")/collect_conformance.py" "$BOTSCOPE" "$BS_CORPUS_DIR" "$work" 2>&1)
rc=$?
echo "$out" | grep -v '^ok ' | sed 's/^/  /'
[ $rc -eq 0 ] || fail "conformance: $(tail -1 <<<"$out")"
n=$(grep -c '^ok \|^XFAIL ' <<<"$out")
pass "$n"
