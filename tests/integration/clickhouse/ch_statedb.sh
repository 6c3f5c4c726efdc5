#!/usr/bin/env bash
# ch_statedb.sh - the state database half on a real ClickHouse server: runs the unit test
# test_ch_statedb (records by kind and exporters, SQLite and ClickHouse with the same
# scenario and identical answers) against a server started here. The telescope's run tables
# are not on ClickHouse: `telescope --data URL` is refused as a usage error (exit 2) before
# anything is read or created (no local "clickhouse:" directory, no database).
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_available || skip "clickhouse-server not installed (tools/install-deps.sh)"
CH_WORK=$(mktemp -d)
trap 'ch_stop_all; rm -rf "$CH_WORK"' EXIT
ch_start a
ch_botscope_config "$CH_WORK/bs.conf"
BS_CH_URL=$CH_URL_a BS_CH_CONFIG=$CH_WORK/bs.conf "$BS_BUILD_DIR/tests/unit/store/test_ch_statedb" ||
    fail "test_ch_statedb on ClickHouse"

cd "$CH_WORK" || fail "cd"
"$BOTSCOPE" telescope --synth s.pcap --darknet 198.18.0.0/16 --packets 2000 >/dev/null 2>&1 || fail "synth"
"$BOTSCOPE" telescope --read s.pcap --darknet 198.18.0.0/16 --out out --data "$CH_URL_a" -q 2>err
expect_rc 2 $? "telescope --data URL"
grep -q -- "--data $CH_URL_a: the telescope writes its results to a local SQLite state database" err ||
    fail "telescope --data URL message: $(cat err)"
[ ! -e clickhouse: ] || fail "a local clickhouse: directory was made"
[ "$(ch_query a "SELECT count() FROM system.databases WHERE name = 'botscope'")" = 0 ] ||
    fail "the telescope created the database"
pass 2
