#!/usr/bin/env bash
# ch_cluster.sh - two ClickHouse shards behind Distributed tables (cluster "botscope" in each
# server's remote_servers), two collectors, each with its own exporters (sticky: one
# simulated world per collector) writing into its shard's local table, live over UDP on
# loopback. Queries through either shard (reads go to flows_all) give what one embedded store
# holding both worlds gives: listing, totals, aggregations with masks, top-N, --having; the
# scan path (pushdown off) too; and store info counts the flows of both shards.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_available || skip "clickhouse-server not installed (tools/install-deps.sh)"
CH_WORK=$(mktemp -d)
T=$CH_WORK
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; ch_stop_all; [ -n "${KEEP:-}" ] || rm -rf "$CH_WORK"' EXIT
B=$BOTSCOPE

ch_start s1 s1 s2
ch_start s2 s1 s2
for n in s1 s2; do
    v="CH_URL_$n"
    ch_botscope_config "$T/$n.conf"
    printf 'cluster = "botscope"\nspool_dir = "%s"\n' "$T/spool-$n" >>"$T/$n.conf"
    $B store init --store "${!v}" --config "$T/$n.conf" >/dev/null || fail "init $n"
done
[ "$(ch_query s1 "SELECT count() FROM system.tables WHERE database = 'botscope' AND name = 'flows_all'")" = 1 ] ||
    fail "no Distributed table"

# Two worlds (different seeds and exporters; IPFIX: its records carry their own times, where
# sFlow samples are stamped on arrival), each captured to a pcap for the embedded store
# and sent live to its own collector.
for i in 1 2; do
    $B simulate --seed $((20 + i)) --duration 3m --isps 2 --format ipfix --out "$T/w$i" -q || fail "simulate $i"
    $B collect --read "$T/w$i/exports.pcap" --store "$T/emb" -q 2>/dev/null || fail "embedded $i"
done
port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for i in 1 2; do
    v="CH_URL_s$i"
    p=$(port)
    # The worlds are stamped 2026-01-01: no receive-time skew limit for this replay.
    $B collect --listen "127.0.0.1:$p" --store "${!v}" --config "$T/s$i.conf" --no-state -v \
        --max-time-skew 0 2>"$T/c$i.log" &
    pids+=($!)
    for _ in $(seq 100); do grep -q "collector running" "$T/c$i.log" && break; sleep 0.1; done
    grep -q "collector running" "$T/c$i.log" || fail "collector $i not running: $(cat "$T/c$i.log")"
    echo $p >"$T/port$i"
done
for i in 1 2; do
    $B simulate --seed $((20 + i)) --duration 3m --isps 2 --format ipfix --out "$T/x$i" --send "127.0.0.1:$(cat "$T/port$i")" --rate 4000 -q ||
        fail "send $i"
done
sleep 1
for p in "${pids[@]}"; do kill -TERM $p; wait $p; rc=$?; expect_rc 0 $rc "collector exit"; done
pids=()

want=$($B flows --store "$T/emb" --count -o ndjson | sed 's/,"records_scanned":[0-9]*//')
for n in s1 s2; do
    [ "$(ch_query $n 'SELECT count() > 0 FROM botscope.flows')" = 1 ] || fail "shard $n holds nothing"
done
local1=$(ch_query s1 'SELECT count() FROM botscope.flows')
local2=$(ch_query s2 'SELECT count() FROM botscope.flows')
total=$(ch_query s1 'SELECT count() FROM botscope.flows_all')
[ "$total" = $((local1 + local2)) ] || fail "flows_all $total != $local1 + $local2"

# What a count through the Distributed table read is both shards' reads: the initiating
# node's query log counts the remote shard's rows too (a filter without a window reads every
# granule of both tables: all rows).
for n in s1 s2; do
    v="CH_URL_$n"
    out=$($B flows --store "${!v}" --config "$T/$n.conf" --count -o ndjson 'proto tcp')
    echo "$out" | grep -q "\"records_scanned\":$total}" || fail "records scanned through $n: $out (shards hold $local1 + $local2)"
done
for n in s1 s2; do
    v="CH_URL_$n"
    got=$($B flows --store "${!v}" --config "$T/$n.conf" --count -o ndjson | sed 's/,"records_scanned":[0-9]*//')
    [ "$got" = "$want" ] || fail "totals through $n: $got, one store: $want (UDP loss on loopback?)"
    for q in "-A srcip/24/64,dstport -n 50" "-s dstport/bytes" "-A proto -D dstip --having flows>5" \
        "-s dstport/distinct:srcip -n 20 tcp"; do
        # shellcheck disable=SC2086
        $B flows --store "${!v}" --config "$T/$n.conf" -o csv $q >"$T/a.ch" || fail "$q on $n"
        # shellcheck disable=SC2086
        $B flows --store "$T/emb" -o csv $q >"$T/a.emb"
        cmp -s "$T/a.ch" "$T/a.emb" || { diff "$T/a.ch" "$T/a.emb" | head -4 >&2; fail "$q through $n differs"; }
    done
done
# Live, the exporter is the datagram's source (127.0.1.x from simulate --send); in the pcap it
# is the router's address: compared without it.
noexp() { sed 's/"exporter":"[^"]*",//' | sort; }
$B flows --store "$CH_URL_s2" --config "$T/s2.conf" -o ndjson | noexp >"$T/l.ch"
$B flows --store "$T/emb" -o ndjson | noexp >"$T/l.emb"
cmp -s "$T/l.ch" "$T/l.emb" || fail "listing through the Distributed table differs"
cp "$T/s1.conf" "$T/scan.conf"; echo "pushdown = false" >>"$T/scan.conf"
$B flows --store "$CH_URL_s1" --config "$T/scan.conf" -o csv -A proto,dstport >"$T/a.ch"
$B flows --store "$T/emb" -o csv -A proto,dstport >"$T/a.emb"
cmp -s "$T/a.ch" "$T/a.emb" || fail "scan through the Distributed table differs"
$B store info --store "$CH_URL_s1" --config "$T/s1.conf" | grep -q "^records: *$total\$" || fail "info records"
pass 1
