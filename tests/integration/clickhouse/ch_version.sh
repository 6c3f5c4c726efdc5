#!/usr/bin/env bash
# ch_version.sh - newer servers' features are behind a version check, shown both ways on the
# real 18.16 server (the only one Debian has; test_ch_schema checks the DDL text itself):
#  - the server's own version (18.16.1) and an assumed version just below the codec gate
#    (19.1.5) give the released schema, which 18.16 takes: no CODEC in the flows table;
#  - an assumed version at the gate (19.1.6, [clickhouse] assume_version) gives the codec
#    DDL, and 18.16 refuses it with a syntax error at CODEC: the check is needed. Nothing is
#    recorded as applied then (schema_version stays empty), and the same database is then
#    created by the server's own version;
#  - a malformed assume_version is a configuration error (exit 2) naming the key.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin

ch_start a
R=${CH_URL_a%/*}
[ "$(ch_query a 'SELECT version()')" = 18.16.1 ] || skip "server is $(ch_query a 'SELECT version()'), not 18.16.1"
conf() { # FILE [ASSUME]
    ch_botscope_config "$1"
    echo "spool_dir = \"$T/spool\"" >>"$1"
    [ -z "${2:-}" ] || echo "assume_version = \"$2\"" >>"$1"
}
conf "$T/own.conf"
conf "$T/below.conf" 19.1.5
conf "$T/gate.conf" 19.1.6
conf "$T/bad.conf" 19

# --- the server's version and just below the gate: the released schema, taken by 18.16
for c in own below; do
    out=$($B store init --store "$R/$c" --config "$T/$c.conf" 2>"$T/err") || fail "init ($c): $(cat "$T/err")"
    echo "$out" | grep -q "state schema 4" || fail "init ($c): $out"
    ddl=$(ch_query a "SHOW CREATE TABLE $c.flows")
    echo "$ddl" | grep -q "start_ms UInt64,  *end_ms UInt64," || fail "flows ($c): $ddl"
    echo "$ddl" | grep -q CODEC && fail "flows ($c) has codecs: $ddl"
done

# --- at the gate: the codec DDL, refused by 18.16 (exit 1, the server's syntax error)
$B store init --store "$R/gate" --config "$T/gate.conf" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "init at the gate: exit $rc, want 1: $(cat "$T/out" "$T/err")"
grep -q "Syntax error" "$T/err" && grep -q "CODEC(Delta, ZSTD(1))" "$T/err" ||
    fail "refusal is not the server's syntax error at CODEC: $(cat "$T/err")"
[ "$(ch_query a "SELECT count() FROM system.tables WHERE database = 'gate' AND name = 'flows'")" = 0 ] ||
    fail "flows created at the gate"
[ "$(ch_query a "SELECT count() FROM gate.schema_version")" = 0 ] || fail "a migration recorded as applied"
# ... and the database is created once the version is the server's own
$B store init --store "$R/gate" --config "$T/own.conf" >/dev/null 2>"$T/err" || fail "init gate (own): $(cat "$T/err")"
[ "$(ch_query a 'SELECT arraySort(groupArray(version)) FROM gate.schema_version')" = "[1,2,3,4]" ] || fail "gate: versions"

# --- a malformed version: configuration error naming the key
$B store init --store "$R/bad" --config "$T/bad.conf" >/dev/null 2>"$T/err"
rc=$?
[ $rc = 2 ] || fail "malformed assume_version: exit $rc, want 2"
grep -q "assume_version" "$T/err" || fail "message does not name the key: $(cat "$T/err")"
pass 1
