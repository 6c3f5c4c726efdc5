#!/usr/bin/env bash
# ch_pushdown.sh - `flows` pushed down to ClickHouse as SQL (src/query/query_sql.c) gives
# exactly the embedded store's answers on the same flows: a simulated capture (IPv4, NetFlow
# v9, IPFIX and sampled sFlow) and an nfdump CSV of IPv6 and mixed-family records with AS
# numbers, interfaces, next hops, masks, ToS and VLANs, imported into both stores. Compared
# byte for byte by the same printer (rows in order: measure, flows, key): every aggregation key (with /N masks on
# both families), each order (flows, packets, bytes, distinct), limits, --having, the time
# window, and every primitive of the filter language (filter.h) with and/or/not.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/clickhouse/ch_lib.sh"
ch_test_begin

ch_start a
U=$CH_URL_a
C=$T/bs.conf
ch_botscope_config "$C"
echo "spool_dir = \"$T/spool\"" >>"$C"
$B store init --store "$U" --config "$C" >/dev/null || fail "init"
$B simulate --seed 7 --duration 4m --out "$T/sim" -q || fail "simulate"
for s in "$U" "$T/emb"; do
    $B collect --read "$T/sim/exports.pcap" --store "$s" --config "$C" -q 2>/dev/null || fail "collect into $s"
done
{
    echo "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln"
    for i in $(seq 1 40); do
        s=$(printf %02d $((i % 60)))
        echo "2026-01-01 00:01:$s,2026-01-01 00:01:59,1.000,2001:db8:$((i % 5))::$i,2001:db8:ff:$((i % 3))::$i,$((40000 + i)),$((440 + i % 4)),TCP,...A..S.,0,$((i % 4 * 8)),$i,$((i * 100)),0,0,$((i % 3)),$((i % 2 + 5)),$((64500 + i % 3)),$((64510 + i % 2)),48,56,0,0,2001:db8::$((i % 2 + 1)),::,$((i % 3)),0"
        echo "2026-01-01 00:02:$s,2026-01-01 00:02:$s,0.000,10.9.$((i % 7)).$i,2001:db8:ff::$((i % 3)),0,0,ICMP6,........,0,0,1,64,0,0,1,2,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0"
        echo "2026-01-01 00:03:$s,2026-01-01 00:03:59,59.000,192.0.2.$((i % 9)),198.51.100.$((i % 4)),$((1000 + i)),53,UDP,........,0,$((i % 2 * 32)),$((i * 3)),$((i * 3000)),0,0,$((i % 4)),9,64496,$((64497 + i % 5)),24,24,0,0,192.0.2.254,0.0.0.0,$((i % 2 * 100)),0"
    done
} >"$T/v6.csv"
for s in "$U" "$T/emb"; do
    $B import --format nfdump-csv "$T/v6.csv" --store "$s" --config "$C" -q 2>/dev/null || fail "import into $s"
done
printf '# test list\n2001:db8:1::6\n10.9.0.0/16\n192.0.2.3\n' >"$T/hosts.txt"

n=0
agg() { # ARGS...: one aggregation both ways (flows options), printed by the same printer
    $B flows --store "$U" --config "$C" -o csv "$@" >"$T/p.ch" 2>"$T/p.err" || fail "pushdown $*: $(cat "$T/p.err")"
    $B flows --store "$T/emb" -o csv "$@" >"$T/p.emb" 2>"$T/p.eerr" || fail "embedded $*: $(cat "$T/p.eerr")"
    if ! cmp -s "$T/p.ch" "$T/p.emb"; then
        diff "$T/p.ch" "$T/p.emb" | head -6 >&2
        fail "pushdown $*: differs from the embedded store"
    fi
    n=$((n + 1))
}
totals() { # FILTER: the totals both ways (records_scanned says how much a store read: not
           # part of the answer; on ClickHouse what the server read, by granules)
    $B flows --store "$U" --config "$C" --count -o ndjson "$@" | sed 's/,"records_scanned":[0-9]*//' >"$T/t.ch" ||
        fail "totals $*"
    $B flows --store "$T/emb" --count -o ndjson "$@" | sed 's/,"records_scanned":[0-9]*//' >"$T/t.emb"
    cmp -s "$T/t.ch" "$T/t.emb" || fail "totals $*: $(cat "$T/t.ch") vs $(cat "$T/t.emb")"
    n=$((n + 1))
}

# Every key, alone (all groups, in order), and masked addresses of both families.
for k in srcip dstip srcport dstport proto exporter nexthop in_if out_if src_as dst_as tos \
    flags sampling vlan version srcip/24 dstip/16/48 srcip6/64 dstip/0/0 srcip/31/127 \
    exporter/8/32 nexthop/24/64; do
    agg -A "$k"
done
agg -A srcip/24,dstport,proto
agg -A exporter,version,sampling -D srcip
agg -A dstip/24/64 -D srcip/16/32 -n 7
for o in flows packets bytes distinct:dstip; do
    agg -s "dstport/$o" -n 10
    agg -s "srcip/24/64,proto/$o" -n 25
done
agg -A srcip --having 'flows > 10'
agg -A dstport --having 'packets >= 100 and bytes < 1m or flows = 1'
agg -A srcip/24 -D dstport --having 'distinct > 2 and not flows > 500'
agg -A dstport --having 'distinct = 0 and flows > 3'
agg -s dstport/bytes -n 5 -t '2026-01-01 00:01-2026-01-01 00:03' 'proto tcp'
agg -A srcip/24/64 -t '2026-01-01 00:01:30-2026-01-01 00:02:10' 'not ipv4'
# The table format with its summary, and listings (sorted: the stores' record orders differ).
for f in table ndjson; do
    $B flows --store "$U" --config "$C" -o $f -s srcip/24/64 -n 5 | grep -v '^Total records scanned' >"$T/s.ch"
    $B flows --store "$T/emb" -o $f -s srcip/24/64 -n 5 | grep -v '^Total records scanned' >"$T/s.emb"
    cmp -s "$T/s.ch" "$T/s.emb" || { diff "$T/s.ch" "$T/s.emb" >&2; fail "-o $f with summary differs"; }
done
for f in '' 'ipv6 or port 53' 'flags S and not dst net 25.0.0.0/8'; do
    $B flows --store "$U" --config "$C" -o ndjson "$f" | sort >"$T/l.ch"
    $B flows --store "$T/emb" -o ndjson "$f" | sort >"$T/l.emb"
    cmp -s "$T/l.ch" "$T/l.emb" || fail "listing '$f' differs"
    [ -s "$T/l.ch" ] || fail "listing '$f' empty"
done
# It is pushed down: the server answers the count with one row, and records_scanned is what
# the server read for it (its query log's read_rows, logged although the harness's profile
# turns query logging off); a time window reads fewer rows (the ORDER BY's hour prefix).
qlog() { # WHAT: read_rows or result_rows of the last query botscope named bs-q-*
    ch_query a "SYSTEM FLUSH LOGS" >/dev/null
    ch_query a "SELECT $1 FROM system.query_log WHERE query_id LIKE 'bs-q-%' AND type = 2 ORDER BY event_time DESC, query_start_time DESC LIMIT 1"
}
sleep 1.1 # the log's times are in seconds: the queries below are told apart by them
out=$($B flows --store "$U" --config "$C" --count -o ndjson 'port 23')
scanned=$(echo "$out" | sed -n 's/.*"records_scanned":\([0-9]*\)}.*/\1/p')
[ "$(qlog result_rows)" = 1 ] || fail "count not pushed down: the server returned $(qlog result_rows) rows"
[ -n "$scanned" ] && [ "$scanned" -gt 0 ] && [ "$scanned" = "$(qlog read_rows)" ] ||
    fail "records_scanned $scanned is not the server's read_rows $(qlog read_rows): $out"
total=$(ch_query a "SELECT count() FROM botscope.flows")
[ "$scanned" -le "$total" ] || fail "read $scanned rows of $total"
sleep 1.1
out=$($B flows --store "$U" --config "$C" --count -o ndjson -t '2026-01-01 00:02-2026-01-01 00:03' 'port 23')
w=$(echo "$out" | sed -n 's/.*"records_scanned":\([0-9]*\)}.*/\1/p')
[ "$w" = "$(qlog read_rows)" ] && [ "$w" -gt 0 ] && [ "$w" -lt "$scanned" ] ||
    fail "window: records_scanned $w, server read $(qlog read_rows), whole table $scanned"
# A table with its summary: both SELECTs' reads (aggregation and totals) in the summary line.
$B flows --store "$U" --config "$C" -s dstport -n 3 | grep -q "^Total records scanned: $((2 * total))" ||
    fail "summary: $($B flows --store "$U" --config "$C" -s dstport -n 3 | grep '^Total records')"

# Every primitive of the filter language, as totals and as one aggregation.
while IFS= read -r f; do
    [ -n "$f" ] || continue
    totals "$f"
    agg -A proto,dstport -n 20 "$f"
done <<FILTERS
any
proto tcp
proto udp
proto icmp
proto icmp6
proto gre
proto esp
proto ah
proto sctp
proto igmp
proto 17
tcp
udp
icmp
icmp6
ipv4
inet
ipv6
inet6
host 192.0.2.3
src host 2001:db8:1::6
dst ip 198.51.100.2
ip 2001:db8:ff:1::7
host in [192.0.2.1 2001:db8:ff::/48 10.9.3.0/24]
src ip in [192.0.2.1, 192.0.2.2]
dst host in @$T/hosts.txt
host in @$T/hosts.txt
net 25.0.0.0/8
src net 10.9.0.0/16
dst net 2001:db8:ff::/48
net 2001:db8::/32
net 0.0.0.0/0
net ::/0
port 23
src port 53
dst port 443
port > 1024
dst port <= 442
src port != 0
port in [23 2323 53]
dst port in [440, 441]
as 64500
src as > 64495
dst as <= 64498
dst as != 0
in if 1
out if 9
if 2
exporter 25.16.0.1
exporter 25.0.0.0/8
exporter 0.0.0.0/0
flags S
flags AS
flags X
packets > 10
packets = 1
bytes < 100
bytes >= 1k
duration >= 1000
duration = 0
pps > 100
bps > 1m
bpp < 60
bpp >= 1000
tos != 0
tos = 32
sampling > 1
vlan = 100
vlan 0
not tcp
! udp
tcp and dst port 23
tcp && port 80 || udp && port 53
(proto tcp or proto udp) and not (port 443 or port 80)
not (src net 25.0.0.0/8 and dst net 25.0.0.0/8)
ipv6 and not net 2001:db8:ff::/48
FILTERS
echo "$n queries compared" >&2
pass 1
