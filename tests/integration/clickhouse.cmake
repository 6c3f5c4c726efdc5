# ClickHouse backend: real clickhouse-server processes (Debian's 18.16) on loopback, started
# and stopped by the scripts themselves (clickhouse/ch_lib.sh). Skipped (77) when the server
# is not installed; tools/install-deps.sh installs it.
bs_script_test(ch_harness clickhouse/ch_harness.sh)
bs_script_test(ch_store clickhouse/ch_store.sh)
bs_script_test(ch_exactly_once clickhouse/ch_exactly_once.sh)
bs_script_test(ch_pushdown clickhouse/ch_pushdown.sh)
bs_script_test(ch_cluster clickhouse/ch_cluster.sh)
bs_script_test(ch_statedb clickhouse/ch_statedb.sh)
bs_script_test(ch_detect clickhouse/ch_detect.sh)
bs_script_test(ch_version clickhouse/ch_version.sh)
bs_script_test(ch_telescope clickhouse/ch_telescope.sh)
