#!/usr/bin/env bash
# ch_statedb.sh - the state database half on a real ClickHouse server: runs the unit test
# test_ch_statedb (records by kind and exporters, SQLite and ClickHouse with the same
# scenario and identical answers; the telescope's tables and their sources reader the same
# way) against a server started here. ch_telescope.sh runs the telescope itself into both.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin
ch_start a
ch_botscope_config "$CH_WORK/bs.conf"
BS_CH_URL=$CH_URL_a BS_CH_CONFIG=$CH_WORK/bs.conf "$BS_BUILD_DIR/tests/unit/store/test_ch_statedb" ||
    fail "test_ch_statedb on ClickHouse"

pass 1
