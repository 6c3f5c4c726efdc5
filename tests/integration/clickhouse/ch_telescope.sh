#!/usr/bin/env bash
# ch_telescope.sh - the telescope's tables in a ClickHouse state database, beside SQLite:
#  - one simulated world's darknet capture through `telescope --data DIR` (SQLite) and
#    `telescope --data clickhouse://...`: the same telescope_sources, telescope_victims and
#    telescope_intervals rows in both (every column but run_id), and a telescope_runs row
#    with status ok and the same totals;
#  - the same input again: the same rows (upserts by key), a second run row;
#  - `detect --seeds clickhouse://...` gives the same candidates as `--seeds DIR/state.db` on
#    the same store;
#  - a database of the previous schema (3) is read by --seeds as it is (its findings seed,
#    nothing migrated) and migrated to 4 by the telescope (its records kept); version 2 and a
#    database without schema_version are not state databases (exit 2), nor is an SQLite
#    file of other tables (left unchanged);
#  - errors: --data with a server down (exit 1, the server named, no local directory), a
#    malformed database name (exit 2), inserts the server refuses (exit 1, run 'failed'); --seeds naming a database that does not exist (exit 2,
#    named) or a server that is down (exit 1).
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
ch_start a
U=$CH_URL_a
C=$T/bs.conf
ch_botscope_config "$C"
echo "spool_dir = \"$T/spool\"" >>"$C"
cd "$T" || fail "cd"

$B simulate --seed 3 --out "$T/w" >/dev/null || fail "simulate"
DK=25.240.0.0/20
tel() { # DATA OUT
    $B telescope --read "$T/w/darknet.pcap" --darknet $DK --state-sources all --out "$2" \
        --data "$1" --config "$C" -q 2>"$T/tel.err" || fail "telescope --data $1: $(cat "$T/tel.err")"
}
tel "$T/dir" "$T/o1"
tel "$U" "$T/o2"
cmp -s "$T/o1/sources.ndjson" "$T/o2/sources.ndjson" || fail "NDJSON outputs differ"
[ ! -e clickhouse: ] || fail "a local clickhouse: directory was made"

# The rows of both, sorted, every column but run_id (floats rounded to 6 digits: both keep
# binary doubles, printed differently by each tool).
SRC_COLS="src, day_ms, first_ms, last_ms, packets, bytes, destinations, port_count, ports, fingerprints, tags, scan_class, syn_packets, iot_packets, asn, cc, bogon, research, infected_iot"
VIC_COLS="victim, first_ms, last_ms, packets, bytes, ports, tcp_packets, icmp_packets, peak_ppm, darknet_addresses"
INT_COLS="resolution_s, start_ms, end_ms, packets, bytes, unique_sources, unique_destinations, non_darknet_packets, late_packets, dropped_source_packets, research_packets, tags, fingerprints"
sq() { sqlite3 -separator '	' -nullvalue '\N' "$T/dir/state.db" "$1"; }
chq() { ch_query a "$1 FORMAT TabSeparated"; }
dump_sqlite() {
    sq "SELECT $SRC_COLS FROM telescope_sources ORDER BY src, day_ms"
    sq "SELECT $VIC_COLS, printf('%.6e', observed_pps), CASE WHEN scaled_pps IS NULL THEN '\\N' ELSE printf('%.6e', scaled_pps) END FROM telescope_victims ORDER BY victim, first_ms"
    sq "SELECT $INT_COLS FROM telescope_intervals ORDER BY resolution_s, start_ms"
}
# ClickHouse's own TSV escapes backslashes and tabs in strings, as sqlite3 does not; the
# JSON texts here hold neither.
dump_ch() {
    chq "SELECT $SRC_COLS FROM (SELECT * FROM botscope.telescope_sources FINAL) ORDER BY src, day_ms"
    # printf %.6e, from the exact value ClickHouse answers in its text form
    chq "SELECT $VIC_COLS, toString(observed_pps), ifNull(toString(scaled_pps), '\\\\N') FROM (SELECT * FROM botscope.telescope_victims FINAL) ORDER BY victim, first_ms" |
        awk -F'\t' 'BEGIN { OFS = "\t" } { $11 = sprintf("%.6e", $11); if ($12 != "\\N") $12 = sprintf("%.6e", $12); print }'
    chq "SELECT $INT_COLS FROM (SELECT * FROM botscope.telescope_intervals FINAL) ORDER BY resolution_s, start_ms"
}
dump_sqlite >"$T/rows.sq"
dump_ch >"$T/rows.ch"
nsrc=$(sq "SELECT count(*) FROM telescope_sources")
ninf=$(sq "SELECT count(*) FROM telescope_sources WHERE infected_iot")
nvic=$(sq "SELECT count(*) FROM telescope_victims")
nint=$(sq "SELECT count(*) FROM telescope_intervals")
[ "$nsrc" -gt 0 ] && [ "$ninf" -gt 0 ] && [ "$nvic" -gt 0 ] && [ "$nint" -gt 0 ] ||
    fail "the capture gives too little: $nsrc sources ($ninf infected), $nvic victims, $nint intervals"
cmp -s "$T/rows.sq" "$T/rows.ch" || { diff "$T/rows.sq" "$T/rows.ch" | head -6 >&2; fail "rows differ"; }

# The run rows: ok, the same totals.
RUN_COLS="status, mode, packets_read, darknet_packets, first_ms, last_ms, sources, victims, intervals"
[ "$(sq "SELECT $RUN_COLS FROM telescope_runs")" = "$(chq "SELECT $RUN_COLS FROM botscope.telescope_runs FINAL")" ] ||
    fail "run rows differ: $(sq "SELECT $RUN_COLS FROM telescope_runs") / $(chq "SELECT $RUN_COLS FROM botscope.telescope_runs FINAL")"
[ "$(chq "SELECT status, sources FROM botscope.telescope_runs FINAL")" = "ok	$nsrc" ] || fail "ClickHouse run row"

# --- the same input again: the same rows, one more run
tel "$T/dir" "$T/o3"
tel "$U" "$T/o4"
dump_sqlite >"$T/rows2.sq"
dump_ch >"$T/rows2.ch"
cmp -s "$T/rows.sq" "$T/rows2.sq" || fail "SQLite rows changed on re-run"
cmp -s "$T/rows.ch" "$T/rows2.ch" || fail "ClickHouse rows changed on re-run"
[ "$(chq "SELECT count(), countIf(status = 'ok') FROM botscope.telescope_runs FINAL")" = "2	2" ] ||
    fail "ClickHouse runs: $(chq "SELECT id, status FROM botscope.telescope_runs FINAL")"
# the rows of the second run replaced the first's (newest version kept), none summed
[ "$(chq "SELECT count(DISTINCT run_id), count() FROM botscope.telescope_sources FINAL")" = "1	$nsrc" ] ||
    fail "sources after re-run: $(chq "SELECT count(DISTINCT run_id), count() FROM botscope.telescope_sources FINAL")"

# --- seeds from either state database give the same candidates on the same store
$B collect --read "$T/w/exports.pcap" --store "$T/emb" >/dev/null 2>&1 || fail "collect"
nodet() { python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); r.pop("detected_ms", None); print(json.dumps(r, sort_keys=True))'; }
$B detect --store "$T/emb" --seeds "$T/dir/state.db" --no-state -o ndjson 2>"$T/d1.err" |
    nodet >"$T/c.sq" || fail "detect --seeds state.db: $(cat "$T/d1.err")"
$B detect --store "$T/emb" --seeds "$U" --config "$C" --no-state -o ndjson 2>"$T/d2.err" |
    nodet >"$T/c.ch" || fail "detect --seeds URL: $(cat "$T/d2.err")"
[ -s "$T/c.sq" ] || fail "no candidates: $(cat "$T/d1.err")"
cmp -s "$T/c.sq" "$T/c.ch" || { diff "$T/c.sq" "$T/c.ch" | head -4 >&2; fail "candidates differ"; }
# ... and the seeds were the telescope's (not the scanners fallback)
grep -q "no seeds given" "$T/d2.err" && fail "detect fell back to scanners: $(cat "$T/d2.err")"

R=${U%/*}
# --- a database of the previous schema (3: records, no telescope tables) with a finding
ch_query a "CREATE DATABASE v3" >/dev/null
ch_query a "CREATE TABLE v3.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO v3.schema_version VALUES (1, 0), (2, 0), (3, 0)" >/dev/null
for t in flows flows_hourly exporters records; do
    ch_query a "CREATE TABLE v3.$t AS botscope.$t" >/dev/null
done
# a bot of the simulated world (an infected source the telescope saw) as the survey's finding
seed=$(sq "SELECT src FROM telescope_sources WHERE infected_iot ORDER BY src LIMIT 1")
ch_query a "INSERT INTO v3.records VALUES ('finding', '$seed|23|weak_credentials', NULL, '$seed', 7, 8, 0, 'open', '{}', 1, 0)" >/dev/null
# read as it is (its findings seed; no telescope tables, not an error) and not migrated
$B detect --store "$T/emb" --seeds "$R/v3" --config "$C" --no-state -o ndjson >/dev/null 2>"$T/err" ||
    fail "--seeds on a version-3 database: $(cat "$T/err")"
grep -q "no seeds given" "$T/err" && fail "the version-3 finding did not seed: $(cat "$T/err")"
[ "$(ch_query a 'SELECT arraySort(groupArray(version)) FROM v3.schema_version')" = "[1,2,3]" ] ||
    fail "--seeds migrated the database"
# the telescope migrates it to 4 and writes its rows; the record stays
tel "$R/v3" "$T/o7"
[ "$(ch_query a 'SELECT arraySort(groupArray(version)) FROM v3.schema_version')" = "[1,2,3,4]" ] ||
    fail "v3 -> v4 rows"
[ "$(chq "SELECT count() FROM v3.telescope_sources FINAL")" = "$nsrc" ] || fail "v3: sources"
[ "$(chq "SELECT count() FROM v3.records FINAL WHERE kind = 'finding'")" = 1 ] || fail "v3: record lost"
# a version-2 database (neither table) and a database without schema_version: not state databases
ch_query a "CREATE DATABASE v2" >/dev/null
ch_query a "CREATE TABLE v2.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO v2.schema_version VALUES (1, 0), (2, 0)" >/dev/null
ch_query a "CREATE DATABASE plain" >/dev/null
for db in v2 plain; do
    $B detect --store "$T/emb" --seeds "$R/$db" --config "$C" --no-state -o ndjson >/dev/null 2>"$T/err"
    expect_rc 2 $? "--seeds on database $db"
    grep -q "not a botscope state database" "$T/err" || fail "--seeds $db message: $(cat "$T/err")"
done

# an SQLite file that is not a state database: refused as before, and left as it was
sqlite3 "$T/other.db" "CREATE TABLE x (a INTEGER)" || fail "sqlite3"
$B detect --store "$T/emb" --seeds "$T/other.db" --no-state -o ndjson >/dev/null 2>"$T/err"
expect_rc 2 $? "--seeds on a foreign SQLite file"
grep -q "other.db: not a botscope state database (no telescope sources, no findings" "$T/err" ||
    fail "foreign SQLite message: $(cat "$T/err")"
[ "$(sqlite3 "$T/other.db" "SELECT group_concat(name) FROM sqlite_master")" = x ] ||
    fail "--seeds changed a foreign SQLite file"

# --- errors
# a database that does not exist: named, usage error, nothing created
$B detect --store "$T/emb" --seeds "$R/nosuchdb" --config "$C" --no-state -o ndjson >/dev/null 2>"$T/err"
expect_rc 2 $? "--seeds with a missing database"
grep -q "no database 'nosuchdb'" "$T/err" || fail "missing database message: $(cat "$T/err")"
[ "$(ch_query a "SELECT count() FROM system.databases WHERE name = 'nosuchdb'")" = 0 ] ||
    fail "--seeds created a database"
# a malformed database name for --data: usage error naming the URL
$B telescope --read "$T/w/darknet.pcap" --darknet $DK --out "$T/o5" --data "$R/bad-name" \
    --config "$C" -q 2>"$T/err"
expect_rc 2 $? "--data with a malformed database name"
grep -q "bad-name" "$T/err" || fail "malformed name message: $(cat "$T/err")"
# inserts refused mid-run (a telescope_sources of another shape under schema 4): exit 1,
# the database named, the run recorded as failed
ch_query a "CREATE DATABASE broken" >/dev/null
ch_query a "CREATE TABLE broken.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO broken.schema_version VALUES (1, 0), (2, 0), (3, 0), (4, 0)" >/dev/null
for t in telescope_runs telescope_victims telescope_intervals; do
    ch_query a "CREATE TABLE broken.$t AS botscope.$t" >/dev/null
done
ch_query a "CREATE TABLE broken.telescope_sources (a UInt8) ENGINE = Log" >/dev/null
$B telescope --read "$T/w/darknet.pcap" --darknet $DK --out "$T/o8" --data "$R/broken" \
    --config "$C" -q 2>"$T/err"
expect_rc 1 $? "--data with inserts refused"
grep -q "writing the state database $R/broken" "$T/err" || fail "refused inserts message: $(cat "$T/err")"
[ "$(chq "SELECT status FROM broken.telescope_runs FINAL")" = failed ] ||
    fail "run after refused inserts: $(chq "SELECT status FROM broken.telescope_runs FINAL")"
# the server down
ch_stop a
$B telescope --read "$T/w/darknet.pcap" --darknet $DK --out "$T/o6" --data "$U" --config "$C" \
    -q 2>"$T/err"
expect_rc 1 $? "--data with the server down"
grep -q -- "--data: $U: .*Couldn't connect" "$T/err" || fail "server down message: $(cat "$T/err")"
$B detect --store "$T/emb" --seeds "$U" --config "$C" --no-state -o ndjson >/dev/null 2>"$T/err"
expect_rc 1 $? "--seeds with the server down"
grep -q -- "--seeds: $U: .*Couldn't connect" "$T/err" || fail "seeds server down message: $(cat "$T/err")"
[ ! -e clickhouse: ] || fail "a local clickhouse: directory was made"
pass 1
