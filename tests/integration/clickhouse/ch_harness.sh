#!/usr/bin/env bash
# ch_harness.sh - the ClickHouse test harness itself: one node starts on free loopback ports
# with its own config and data directory, answers /ping and SQL with the configured password
# (and refuses a wrong one), keeps its data across a stop and a start; then two shards behind
# a Distributed table over the cluster "botscope" give the union of their local tables.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin

# --- one node
ch_start one
[ "$(ch_query one 'SELECT 1')" = 1 ] || fail "SELECT 1"
v=$(ch_query one 'SELECT version()')
case "$v" in [0-9]*.[0-9]*) ;; *) fail "version: $v" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -u default:wrong --data-binary 'SELECT 1' \
    "http://127.0.0.1:$CH_HTTP_one/")
[ "$code" != 200 ] || fail "wrong password accepted"
# Only loopback: the server listens on 127.0.0.1 and nothing else.
grep -q '<listen_host>127.0.0.1</listen_host>' "$CH_WORK/ch-one/config.xml" || fail "listen_host"
ch_query one "CREATE DATABASE h" >/dev/null
ch_query one "CREATE TABLE h.t (x UInt64) ENGINE = MergeTree ORDER BY x" >/dev/null
ch_query one "INSERT INTO h.t VALUES (1), (2), (3)" >/dev/null
ch_stop one
curl -s "http://127.0.0.1:$CH_HTTP_one/ping" >/dev/null && fail "server still answers after stop"
ch_restart one
[ "$(ch_query one 'SELECT sum(x) FROM h.t')" = 6 ] || fail "data lost across restart"
ch_stop one

# --- two shards behind a Distributed table
ch_start s1 s1 s2
ch_start s2 s1 s2
for n in s1 s2; do
    ch_query $n "CREATE DATABASE h" >/dev/null
    ch_query $n "CREATE TABLE h.t (x UInt64) ENGINE = MergeTree ORDER BY x" >/dev/null
    ch_query $n "CREATE TABLE h.t_all AS h.t ENGINE = Distributed(botscope, h, t, rand())" >/dev/null
done
ch_query s1 "INSERT INTO h.t VALUES (1), (2)" >/dev/null
ch_query s2 "INSERT INTO h.t VALUES (10), (20), (30)" >/dev/null
for n in s1 s2; do
    [ "$(ch_query $n 'SELECT count(), sum(x) FROM h.t_all')" = "$(printf '5\t63')" ] ||
        fail "Distributed table on $n: $(ch_query $n 'SELECT count(), sum(x) FROM h.t_all')"
done
[ "$(ch_query s1 'SELECT count() FROM h.t')" = 2 ] || fail "local table of s1"
pass 1
