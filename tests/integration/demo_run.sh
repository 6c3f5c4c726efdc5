#!/usr/bin/env bash
# The README's main job (tools/run-demo.sh, what `make run` does) works end to end: the live
# collector stores every flow record the simulator sent, and the telescope finds the world's
# infected devices and victims.
set -u
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
out=$(BS_DEMO_PORT=$((20000 + RANDOM % 20000)) bash "$BS_SOURCE_DIR/tools/run-demo.sh" "$BOTSCOPE" "$work/run" 2>&1) \
    || fail "run-demo failed: $(tail -20 <<<"$out")"
sent=$(grep -oE 'datagrams, [0-9]+ flow records' <<<"$out" | head -1 | grep -oE '[0-9]+ flow' | grep -oE '[0-9]+')
stored=$(awk '/^records:/ {print $2}' <<<"$out")
[ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "simulator reported no flow records"
[ "$stored" = "$sent" ] || fail "store holds $stored records, simulator sent $sent"
infected=$(grep -oE 'infected IoT sources: [0-9]+' <<<"$out" | grep -oE '[0-9]+$')
[ "${infected:-0}" -gt 0 ] || fail "telescope found no infected IoT sources"
pass
