#!/usr/bin/env bash
# ch_store.sh - the ClickHouse backend against a real clickhouse-server on loopback:
#  - store init creates the schema (version 4), is idempotent, migrates a version-1 database
#    (data kept) and refuses a newer one; the password comes from the config file only and a
#    wrong one is refused by the server;
#  - the same flows (simulator export pcap through `collect --read`, and an nfdump CSV with
#    IPv6 records through `import`) written to ClickHouse and to the embedded store read back
#    identical through `flows` with [clickhouse] pushdown off, i.e. through store_scan (every
#    record, aggregations, top-N; ch_pushdown.sh tests the SQL path), and `store info` agrees;
#  - store check: a sound store passes with the parts and rows counted; a unit inserted
#    twice, a unit the spool set aside and a schema behind the build's are each damage;
#  - prune drops whole days (partitions) once ended and written more than retention ago.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin

ch_start a
U=$CH_URL_a
C=$T/bs.conf
ch_botscope_config "$C"
echo "spool_dir = \"$T/spool\"" >>"$C"

# --- schema: init from empty, twice
out=$($B store init --store "$U" --config "$C") || fail "store init"
echo "$out" | grep -q "clickhouse store ready (state schema 4)" || fail "init output: $out"
$B store init --store "$U" --config "$C" >/dev/null || fail "init twice"
[ "$(ch_query a 'SELECT arraySort(groupArray(version)) FROM botscope.schema_version')" = "[1,2,3,4]" ] ||
    fail "schema_version rows: $(ch_query a 'SELECT version FROM botscope.schema_version')"
tables=$(ch_query a "SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = 'botscope' ORDER BY name)")
[ "$tables" = "['exporters','flows','flows_hourly','flows_hourly_mv','records','schema_version','telescope_intervals','telescope_runs','telescope_sources','telescope_victims']" ] ||
    fail "tables: $tables"

# --- the password is the config file's; a wrong one is refused (exit 1, server's message)
printf '[clickhouse]\npassword = "wrong"\nspool_dir = "%s"\n' "$T/spool2" >"$T/bad.conf"
$B store init --store "$U" --config "$T/bad.conf" 2>"$T/err" && fail "wrong password accepted"
grep -qi "password" "$T/err" || fail "wrong password message: $(cat "$T/err")"

# --- migration from version 1 (its DDL as released), with a flow in it
ch_query a "CREATE DATABASE old" >/dev/null
ch_query a "CREATE TABLE old.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO old.schema_version VALUES (1, 0)" >/dev/null
ch_query a "CREATE TABLE old.flows (start_ms UInt64, end_ms UInt64, packets UInt64, bytes UInt64, src FixedString(16), dst FixedString(16), exporter FixedString(16), nexthop FixedString(16), sampling UInt32, obs_domain UInt32, in_if UInt32, out_if UInt32, src_as UInt32, dst_as UInt32, src_port UInt16, dst_port UInt16, vlan UInt16, has UInt16, proto UInt8, tcp_flags UInt8, tos UInt8, version UInt8, direction UInt8, src_mask UInt8, dst_mask UInt8, unit UInt64) ENGINE = MergeTree PARTITION BY intDiv(start_ms, 86400000) ORDER BY (intDiv(start_ms, 3600000), src, dst, start_ms)" >/dev/null
ch_query a "INSERT INTO old.flows (start_ms, end_ms, packets, bytes, src, dst, proto, dst_port, sampling) SELECT 1767225600000, 1767225601000, 3, 180, unhex('00000000000000000000ffffc0000201'), unhex('00000000000000000000ffffc6336407'), 6, 23, 1" >/dev/null
out=$($B store init --store "${U%/*}/old" --config "$C") || fail "migrate v1"
echo "$out" | grep -q "state schema 4" || fail "migrated: $out"
[ "$(ch_query a 'SELECT arraySort(groupArray(version)) FROM old.schema_version')" = "[1,2,3,4]" ] || fail "v1 -> v4 rows"
[ "$(ch_query a "SELECT count() FROM system.tables WHERE database = 'old' AND name IN ('flows_hourly', 'records')")" = 2 ] ||
    fail "v2 table missing after migration"
out=$($B flows --store "${U%/*}/old" --config "$C" -o ndjson)
echo "$out" | grep -q '"src_addr":"192.0.2.1","dst_addr":"198.51.100.7"' || fail "v1 flow after migration: $out"

# --- a newer schema is refused
ch_query a "CREATE DATABASE future" >/dev/null
ch_query a "CREATE TABLE future.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO future.schema_version VALUES (99, 0)" >/dev/null
$B store init --store "${U%/*}/future" --config "$C" 2>"$T/err" && fail "newer schema accepted"
grep -q "schema version 99" "$T/err" || fail "newer schema message: $(cat "$T/err")"

# --- the same flows into both stores
$B simulate --seed 3 --duration 5m --out "$T/sim" -q || fail "simulate"
$B collect --read "$T/sim/exports.pcap" --store "$U" --config "$C" 2>"$T/c1" || fail "collect into ClickHouse: $(cat "$T/c1")"
$B collect --read "$T/sim/exports.pcap" --store "$T/emb" 2>/dev/null || fail "collect into embedded"
{
    echo "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln"
    for i in $(seq 1 30); do
        echo "2026-01-01 00:01:$(printf %02d $i),2026-01-01 00:01:59,1.000,2001:db8:$i::7,2001:db8:ff::$i,$((40000 + i)),443,TCP,...A..S.,0,0,$i,$((i * 100)),0,0,3,4,64500,64501,48,56,0,0,2001:db8::1,::,0,0"
        echo "2026-01-01 00:02:$(printf %02d $i),2026-01-01 00:02:30,1.000,10.9.$i.1,2001:db8:ff::$((i % 3)),0,0,ICMP6,........,0,0,1,64,0,0,1,2,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0"
    done
} >"$T/v6.csv"
$B import --format nfdump-csv "$T/v6.csv" --store "$U" --config "$C" -q 2>"$T/i1" || fail "import into ClickHouse: $(cat "$T/i1")"
$B import --format nfdump-csv "$T/v6.csv" --store "$T/emb" -q 2>/dev/null || fail "import into embedded"

# The scan path: rows come back and botscope filters and aggregates them.
cp "$C" "$T/scan.conf"
echo "pushdown = false" >>"$T/scan.conf"
both() { # ARGS...: the same flows query on both stores, outputs compared (sorted; the count
         # of records scanned is how much a store read, not part of the answer)
    $B flows --store "$U" --config "$T/scan.conf" "$@" >"$T/q.ch" 2>"$T/q.err" || fail "flows $* on ClickHouse: $(cat "$T/q.err")"
    $B flows --store "$T/emb" "$@" >"$T/q.emb" 2>/dev/null || fail "flows $* on embedded"
    sed -i 's/,"records_scanned":[0-9]*//' "$T/q.ch" "$T/q.emb"
    if ! cmp -s <(sort "$T/q.ch") <(sort "$T/q.emb"); then
        diff <(sort "$T/q.ch") <(sort "$T/q.emb") | head -5 >&2
        fail "flows $*: ClickHouse and embedded differ"
    fi
    [ -s "$T/q.ch" ] || fail "flows $*: empty answer"
}
n_emb=$($B flows --store "$T/emb" -o ndjson | wc -l)
[ "$n_emb" -gt 10000 ] || fail "embedded store has only $n_emb flows"
both -o ndjson
both -o ndjson 'ipv6'
both -o csv -A srcip/24/64,dstport
both -o ndjson -s dstport/bytes -n 10
both -o ndjson -A exporter,proto -D dstip
both -o ndjson -t '2026-01-01 00:01-2026-01-01 00:03' 'proto tcp and dst port 443'
both --count -o ndjson 'net 2001:db8::/32 or src net 10.9.0.0/16'
# ... and it is the scan: ClickHouse sent every row of the window (records scanned = stored).
$B flows --store "$U" --config "$T/scan.conf" --count -o ndjson 'port 23' | grep -q "\"records_scanned\":$n_emb}" ||
    fail "pushdown = false did not scan: $($B flows --store "$U" --config "$T/scan.conf" --count -o ndjson 'port 23')"

# --- info agrees on records and time range
$B store info --store "$U" --config "$C" >"$T/info.ch" || fail "info"
$B store info --store "$T/emb" >"$T/info.emb" || fail "info embedded"
for k in records "time range"; do
    [ "$(grep "^$k:" "$T/info.ch" | tr -s ' ')" = "$(grep "^$k:" "$T/info.emb" | tr -s ' ')" ] ||
        fail "info $k: $(grep "^$k:" "$T/info.ch") vs $(grep "^$k:" "$T/info.emb")"
done
grep -q "exporter 25.16.0.1 " "$T/info.ch" || fail "info lists no exporters: $(cat "$T/info.ch")"

# --- check: schema, insert units in two parts, the spool's set-asides
out=$($B store check --store "$U" --config "$C" 2>"$T/chk.err") || fail "check of a sound store: $out $(cat "$T/chk.err")"
rows=$(ch_query a "SELECT count() FROM botscope.flows")
parts=$(ch_query a "SELECT count() FROM system.parts WHERE database = 'botscope' AND table = 'flows' AND active")
echo "$out" | grep -q "^checked $parts segments, [1-9][0-9]* blocks, $rows records: 0 damaged segments" ||
    fail "check output: $out (parts $parts, rows $rows)"
# a unit inserted twice (merges stopped, so its two parts stay apart)
ch_query a "CREATE DATABASE dup" >/dev/null
$B store init --store "${U%/*}/dup" --config "$C" >/dev/null || fail "init dup"
ch_query a "SYSTEM STOP MERGES dup.flows" >/dev/null
ch_query a "INSERT INTO dup.flows SELECT * FROM botscope.flows" >/dev/null
unit=$(ch_query a "SELECT min(unit) FROM dup.flows")
n_unit=$(ch_query a "SELECT count() FROM dup.flows WHERE unit = $unit")
$B store check --store "${U%/*}/dup" --config "$C" >"$T/chk" 2>&1 || fail "check before the duplicate: $(cat "$T/chk")"
ch_query a "INSERT INTO dup.flows SELECT * FROM dup.flows WHERE unit = $unit" >/dev/null
$B store check --store "${U%/*}/dup" --config "$C" >"$T/chk" 2>&1
expect_rc 1 $? "check of a unit inserted twice"
grep -q "^damaged: dup.flows: insert unit $(printf %016x "$unit") is in 2 parts ($((2 * n_unit)) flows)" "$T/chk" ||
    fail "duplicate unit not reported: $(cat "$T/chk")"
grep -q "1 damaged segments" "$T/chk" || fail "check summary: $(cat "$T/chk")"
# a unit the writer set aside
sp=$T/spool/127.0.0.1_${CH_HTTP_a}_botscope
[ -d "$sp" ] || fail "no spool directory $sp"
touch "$sp/00000000000000000007-00000000000000aa.spool.bad"
$B store check --store "$U" --config "$C" >"$T/chk" 2>&1
expect_rc 1 $? "check with a unit set aside"
grep -q "^damaged: $sp/00000000000000000007-00000000000000aa.spool.bad: insert unit set aside" "$T/chk" ||
    fail "set-aside unit not reported: $(cat "$T/chk")"
rm "$sp/00000000000000000007-00000000000000aa.spool.bad"
# a database two versions behind, missing what version 2 added
ch_query a "CREATE DATABASE v1" >/dev/null
ch_query a "CREATE TABLE v1.schema_version (version UInt32, applied_ms UInt64) ENGINE = Log" >/dev/null
ch_query a "INSERT INTO v1.schema_version VALUES (1, 0), (2, 0)" >/dev/null
ch_query a "CREATE TABLE v1.flows AS botscope.flows" >/dev/null
$B store check --store "${U%/*}/v1" --config "$C" >"$T/chk" 2>&1
expect_rc 1 $? "check of an old schema"
grep -q "^damaged: v1.schema_version: schema version 2, this botscope writes 4 (run botscope store init)" "$T/chk" &&
    grep -q "^damaged: v1.exporters: missing (schema version 2 has it)" "$T/chk" &&
    ! grep -q "v1.records" "$T/chk" || fail "old schema: $(cat "$T/chk")"

# --- prune (store.h's rule, on whole days): a day goes once it has ended and its newest part
# was written more than retention ago. Written within the last hour: nothing goes with an
# hour of retention; with one second both simulated days (2025-12-31 and 2026-01-01, long
# ended) go, with their roll-up.
[ "$(ch_query a "SELECT count() FROM botscope.flows WHERE start_ms < 1767225600000")" -gt 0 ] ||
    fail "no flows on 2025-12-31"
cp "$C" "$T/hour.conf"
printf '[store]\nretention = "1h"\n' >>"$T/hour.conf"
printf '[store]\nretention = "1s"\n' >>"$C"
out=$($B store prune --store "$U" --config "$T/hour.conf" 2>/dev/null) || fail "prune"
echo "$out" | grep -q "^pruned 0 segments" || fail "prune of fresh data: $out"
[ "$(ch_query a 'SELECT count() FROM botscope.flows')" -gt 0 ] || fail "fresh flows pruned"
sleep 1
out=$($B store prune --store "$U" --config "$C" 2>"$T/prune.err") || fail "prune"
echo "$out" | grep -q "^pruned [1-9]" || fail "prune output: $out"
grep -q "pruned botscope.flows day 2025-12-31" "$T/prune.err" || fail "prune not logged: $(cat "$T/prune.err")"
[ "$(ch_query a 'SELECT count() FROM botscope.flows')" = 0 ] || fail "after prune: flows left"
[ "$(ch_query a 'SELECT count() FROM botscope.flows_hourly')" = 0 ] || fail "roll-up not pruned"
pass 1
