#!/bin/bash
# store_cli.sh - botscope store/import/flows end to end: imports of the three formats, queries
# with filters, aggregation, top-N and every output format, filter errors, info and prune.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S=$T/store

out=$($BOTSCOPE store init --store "$S") || fail "store init"
[ -f "$S/state.db" ] || fail "init created no state.db"
echo "$out" | grep -q "embedded store ready (state schema [0-9]" || fail "init output: $out"
$BOTSCOPE store init --store "$S" >/dev/null || fail "store init twice"
# A ClickHouse URL is claimed by its backend for flows and state alike (tests/integration/
# clickhouse has the real server): with nothing listening, init fails naming the server, and
# the URL is never taken for a directory or file name.
printf '[clickhouse]\nspool_dir = "%s"\n' "$T/chspool" > "$T/ch.conf"
( cd "$T" && $BOTSCOPE store init --store clickhouse://127.0.0.1:9/bs --config "$T/ch.conf" ) \
    2>"$T/ch.err" && fail "ClickHouse URL without a server accepted"
grep -q "127.0.0.1:9" "$T/ch.err" || fail "ClickHouse refusal: $(cat "$T/ch.err")"
[ ! -e "$T/clickhouse:" ] || fail "ClickHouse URL taken as a path"
( cd "$T" && $BOTSCOPE store init --store clickhouse://127.0.0.1:9/no-such-db ) 2>"$T/ch.err" &&
    fail "bad database name accepted"
grep -q "expected clickhouse://HOST:PORT/DATABASE" "$T/ch.err" || fail "URL error: $(cat "$T/ch.err")"

# nfdump -o csv output (1.7.1 layout, as nfdump prints it, with its summary trailer).
H='ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr'
TAIL='0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,127.0.0.1,0/0,1,2024-01-02 03:10:00.000'
{
    echo "$H"
    for i in $(seq 1 40); do
        echo "2024-01-02 03:04:$(printf %02d $((i % 60))),2024-01-02 03:04:59,1.000,192.0.2.$i,198.51.100.7,$((40000 + i)),23,TCP,......S.,0,0,1,60,0,0,1,2,$TAIL"
    done
    for i in $(seq 1 10); do
        echo "2024-01-02 03:06:00,2024-01-02 03:06:01,1.000,192.0.2.$i,203.0.113.9,$((50000 + i)),2323,TCP,...A..S.,0,0,2,120,0,0,1,2,$TAIL"
    done
    echo "2024-01-02 03:07:00,2024-01-02 03:07:00,0.000,2001:db8::1,2001:db8::2,0,8.0,ICMP6,........,0,0,1,64,0,0,1,2,$TAIL"
    echo "garbage,line"
    echo "Summary"
    echo "flows,bytes,packets,avg_bps,avg_pps,avg_bpp"
    echo "51,3664,61,0,0,60"
} > "$T/nf.csv"
$BOTSCOPE import --format nfdump-csv "$T/nf.csv" --store "$S" 2>"$T/err" || fail "nfdump-csv import"
grep -q "nf.csv:53: wrong number of fields" "$T/err" || fail "bad line not named: $(cat "$T/err")"
grep -q "51 records" "$T/err" || fail "import summary: $(cat "$T/err")"

# Same from stdin.
$BOTSCOPE import --format nfdump-csv - --store "$T/s2" -q < "$T/nf.csv" 2>/dev/null || fail "stdin import"

# Count with a filter, in ndjson.
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 'proto tcp and dst port 23')
echo "$out" | grep -q '"flows":40,"packets":40,"bytes":2400' || fail "count: $out"

# Top destination ports by flows, ndjson rows with record names.
out=$($BOTSCOPE flows --store "$S" -s dstport/flows -n 2 -o ndjson)
[ "$(echo "$out" | head -1)" = '{"dst_port":23,"flows":40,"packets":40,"bytes":2400}' ] || fail "top ports: $out"
[ "$(echo "$out" | wc -l)" -eq 2 ] || fail "-n 2 printed $(echo "$out" | wc -l) rows"

# Aggregation with a mask and a distinct count.
out=$($BOTSCOPE flows --store "$S" -A srcip/24,dstport -D srcip -o ndjson 'ipv4')
echo "$out" | grep -q '"src_addr":"192.0.2.0/24","dst_port":2323,"flows":10,"packets":20,"bytes":1200,"distinct_src_addr":10' \
    || fail "aggregation: $out"
out=$($BOTSCOPE flows --store "$S" -s dstport/distinct:srcip -o csv)
echo "$out" | head -1 | grep -q '^dst_port,flows,packets,bytes,distinct_src_addr$' || fail "csv header: $out"
echo "$out" | grep -q '^23,40,40,2400,40$' || fail "csv distinct: $out"
out=$($BOTSCOPE flows --store "$S" -A dstport --having 'flows > 10' -o csv)
[ "$(echo "$out" | wc -l)" -eq 2 ] || fail "having: $out"

# Time window (nfdump form and ISO form) and plain listing.
out=$($BOTSCOPE flows --store "$S" -t 2024/01/02.03:05:00-2024/01/02.03:06:30 --count -o ndjson)
echo "$out" | grep -q '"flows":10,' || fail "-t nfdump form: $out"
out=$($BOTSCOPE flows --store "$S" -t 2024-01-02T03:06:30 --count -o ndjson)
echo "$out" | grep -q '"flows":1,' || fail "-t open end: $out"
out=$($BOTSCOPE flows --store "$S" -o ndjson 'icmp6')
echo "$out" | grep -q '"src_addr":"2001:db8::1","dst_addr":"2001:db8::2","src_port":0,"dst_port":2048,"proto":58' \
    || fail "ndjson record: $out"
out=$($BOTSCOPE flows --store "$S" 'dst port 2323' -n 3)
echo "$out" | grep -q "Summary: total flows: 3," || fail "table summary: $out"

# Filter error: exit 2, message names the token and column, caret line.
$BOTSCOPE flows --store "$S" 'proto tcp and porrt 23' >/dev/null 2>"$T/err"
expect_rc 2 $? "filter error"
grep -q "botscope flows: filter: unexpected 'porrt' at column 15" "$T/err" || fail "filter error text: $(cat "$T/err")"
grep -q '^                ^$' "$T/err" || fail "caret line: $(cat -A "$T/err")"
$BOTSCOPE flows --store "$S" -A nosuchkey >/dev/null 2>&1
expect_rc 2 $? "bad key"
$BOTSCOPE flows --store "$T/missing" >/dev/null 2>&1
expect_rc 1 $? "missing store"

# Zeek TSV and JSON, binetflow.
printf '#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n1704164645.5\tC1\t10.0.0.1\t40000\t10.0.0.2\t80\ttcp\thttp\t2.5\t100\t2000\tSF\t5\t300\t4\t2200\n' > "$T/conn.log"
echo '{"ts":1704164646.0,"uid":"C2","id.orig_h":"10.0.0.3","id.orig_p":5353,"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","orig_pkts":1,"orig_ip_bytes":73,"resp_pkts":0,"resp_ip_bytes":0}' > "$T/conn.json"
$BOTSCOPE import --format zeek "$T/conn.log" "$T/conn.json" --store "$S" -q || fail "zeek import"
out=$($BOTSCOPE flows --store "$S" --count -o ndjson 'net 10.0.0.0/8 or host 224.0.0.251')
echo "$out" | grep -q '"flows":3,' || fail "zeek records: $out"
printf 'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label\n2011/08/10 09:46:59.607825,1.026539,tcp,94.44.127.113,1577,   ->,147.32.84.59,6881,S_RA,0,0,4,276,156,flow=Background\n' > "$T/b.binetflow"
# Retention counts age from the wall clock and never removes what a run has just stored: 2011
# flows imported into a store that holds newer ones stay (issue 21).
$BOTSCOPE import --format zeek "$T/conn.log" --store "$T/s3" -q || fail "zeek import into s3"
$BOTSCOPE import --format binetflow "$T/b.binetflow" --store "$T/s3" 2>"$T/err" || fail "binetflow import"
grep -q "older than \[store\] retention" "$T/err" || fail "no note about old records: $(cat "$T/err")"
$BOTSCOPE store prune --store "$T/s3" >/dev/null || fail "prune s3"
out=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson 'src host 94.44.127.113 and dst port 6881')
# S_RA with SrcBytes: split into the SYN side and the RST+ACK side, each with its share.
echo "$out" | grep -q '"flows":1,"packets":2,"bytes":156' || fail "binetflow record: $out"
out=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson 'src host 147.32.84.59 and src port 6881 and flags R and flags A')
echo "$out" | grep -q '"flows":1,"packets":2,"bytes":120' || fail "binetflow reverse record: $out"

# -f FILE is read whole or refused (issue 21: it was cut at 64 KiB or at a NUL byte, and a
# directory read as an empty filter that matched everything).
all=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson) || fail "count all"
want=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson 'dst port 6881') || fail "count 6881"
[ "$all" != "$want" ] || fail "the filter test needs a filter that matches less than all"
{ head -c 70000 /dev/zero | tr '\0' ' '; echo 'dst port 6881'; } > "$T/long.filter"
got=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson -f "$T/long.filter") || fail "-f long"
[ "$got" = "$want" ] || fail "-f with a filter after 64 KiB: $got, want $want"
printf 'dst port 6881\0 or any\n' > "$T/nul.filter"
$BOTSCOPE flows --store "$T/s3" --count -f "$T/nul.filter" >/dev/null 2>"$T/err"
expect_rc 2 $? "-f with a NUL byte"
grep -q "nul.filter: NUL byte at offset 13" "$T/err" || fail "NUL: $(cat "$T/err")"
$BOTSCOPE flows --store "$T/s3" --count -f "$T" >/dev/null 2>"$T/err"
expect_rc 2 $? "-f DIRECTORY"
grep -q "$T: Is a directory" "$T/err" || fail "directory: $(cat "$T/err")"
head -c 1048577 /dev/zero | tr '\0' ' ' > "$T/big.filter"
$BOTSCOPE flows --store "$T/s3" --count -f "$T/big.filter" >/dev/null 2>"$T/err"
expect_rc 2 $? "-f above 1 MiB"
grep -q "longer than 1048576 bytes" "$T/err" || fail "big: $(cat "$T/err")"
head -c 1048576 /dev/zero | tr '\0' ' ' > "$T/big.filter"
got=$($BOTSCOPE flows --store "$T/s3" --count -o ndjson -f "$T/big.filter") || fail "-f 1 MiB"
[ "$got" = "$all" ] || fail "-f of 1 MiB of blanks: $got"

# Smaller refusals (issue 21): dates a month does not have, IPv4 masks above 32, a BOM before
# a header, a state.db that is not a database.
$BOTSCOPE flows --store "$T/s3" -t 2026-02-30 --count >/dev/null 2>&1
expect_rc 2 $? "-t 2026-02-30"
$BOTSCOPE flows --store "$T/s3" -A srcip/33 >/dev/null 2>"$T/err"
expect_rc 2 $? "-A srcip/33"
grep -q "0..32" "$T/err" || fail "srcip/33 text: $(cat "$T/err")"
printf '\xef\xbb\xbfStartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label\n2011/08/10 09:46:59,1,tcp,10.9.9.9,1577,->,10.8.8.8,6881,S_,0,0,1,60,60,x\n' > "$T/bom.binetflow"
$BOTSCOPE import --format binetflow "$T/bom.binetflow" --store "$T/s4" 2>"$T/err" || fail "BOM import"
grep -q "1 records from 2 lines (0 bad)" "$T/err" || fail "BOM header counted as bad: $(cat "$T/err")"
echo "not a database" > "$T/s4/state.db"
$BOTSCOPE store info --store "$T/s4" >/dev/null 2>"$T/err"
expect_rc 1 $? "store info with a text state.db"
grep -q "state.db: file is not a database" "$T/err" || fail "state.db text: $(cat "$T/err")"

# Nothing importable: exit 1.
echo "junk" > "$T/junk.csv"
$BOTSCOPE import --format binetflow "$T/junk.csv" --store "$S" >/dev/null 2>&1
expect_rc 1 $? "nothing imported"
$BOTSCOPE import --format xml "$T/junk.csv" --store "$S" >/dev/null 2>&1
expect_rc 2 $? "bad format"

# Info and prune.
out=$($BOTSCOPE store info --store "$S")
echo "$out" | grep -q "^records: *54$" || fail "info records: $out"
echo "$out" | grep -q "bytes per flow" || fail "info: $out"
echo "$out" | grep -q "exporter 127.0.0.1 .*flows 51" || fail "info exporters: $out"
printf '[store]\nretention = "3m"\n' > "$T/cfg"
# Age is wall-clock time, and data stays at least retention after it was written: nothing
# goes while the segments are fresh; once written an hour ago, every 2024 segment goes, with a
# warning that counts them.
$BOTSCOPE store prune --store "$S" --config "$T/cfg" >/dev/null || fail "prune"
out=$($BOTSCOPE store info --store "$S")
echo "$out" | grep -q "^records: *54$" || fail "prune removed fresh data: $out"
find "$S/flows" -name '*.seg' -exec touch -d '1 hour ago' {} +
nseg=$(find "$S/flows" -name '*.seg' | wc -l)
$BOTSCOPE store prune --store "$S" --config "$T/cfg" >"$T/out" 2>"$T/err" || fail "prune"
grep -q "pruned $nseg segments" "$T/out" || fail "prune by age: $(cat "$T/out")"
grep -q "retention (180 s) removed $nseg segments" "$T/err" || fail "no warning: $(cat "$T/err")"
out=$($BOTSCOPE store info --store "$S")
echo "$out" | grep -q "^records: *0$" || fail "prune by age: $out"
pass
