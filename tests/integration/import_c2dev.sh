#!/bin/bash
# import_c2dev.sh - the Zeek importer on the real labelled captures in ../shared/datasets/c2-dev
# (IoT-23 CSV and a CTU conn.log TSV): every line is read, each connection becomes one record
# per direction that sent packets, and the TCP flags per direction come out as a router would
# export them. The figures checked against come from the dataset's truth.json and from awk over
# the same files. Skipped when the shared data is not beside the tree.
set -u
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
D=${BS_C2DEV_DIR:-$BS_SOURCE_DIR/../shared/datasets/c2-dev}
[ -f "$D/truth.json" ] || skip "no c2-dev dataset at $D"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
count() { "$BOTSCOPE" flows --store "$1" --count -o ndjson "$2" | sed -n 's/.*"flows":\([0-9]*\),.*/\1/p'; }

# Records expected: one per direction with packets, or one for a connection without any.
expect_records() {
    awk -F"$2" '/^#/ || /^ts,/ {next} {n = ($17 > 0) + ($19 > 0); t += n ? n : 1} END {print t}' "$1"
}

i=0
for f in CTU-Malware-Capture-34-1-labeled.csv CTU-Honeypot-Capture-5-1-labeled.csv \
         CTU-Normal-42-day2.conn.log.labeled; do
    i=$((i + 1))
    case $f in *.csv) sep=, ;; *) sep='\t' ;; esac
    "$BOTSCOPE" import --format zeek "$D/$f" --store "$T/s$i" 2>"$T/err" || fail "$f: $(cat "$T/err")"
    grep -q "(0 bad)" "$T/err" || fail "$f: bad lines: $(cat "$T/err")"
    want=$(expect_records "$D/$f" "$sep")
    got=$(count "$T/s$i" any)
    [ "$got" = "$want" ] || fail "$f: $got records, awk says $want"
    # Every TCP record that carries packets has flags; nothing but TCP has any.
    n=$(count "$T/s$i" 'proto tcp and packets > 0 and not (flags S or flags A or flags F or flags R or flags P)')
    [ "$n" = 0 ] || fail "$f: $n TCP records with packets and no flags"
    n=$(count "$T/s$i" 'not proto tcp and (flags S or flags A or flags F or flags R or flags P)')
    [ "$n" = 0 ] || fail "$f: $n non-TCP records with TCP flags"
done

# The Mirai C&C endpoint (truth.json): 6706 connections to it, 5065 of them a SYN that was
# never answered; both directions together carry the labelled packets and IP bytes.
read -r cc_flows cc_s0 cc_pkts cc_bytes < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
e = [s for s in t["scenarios"] if s["name"] == "iot23-34-1-mirai"][0]["cc_endpoints"][0]
print(e["cc_flows"], e["conn_states"]["S0"], e["packets"], e["ip_bytes"])' "$D/truth.json")
[ "$cc_flows" = 6706 ] && [ "$cc_s0" = 5065 ] || fail "truth.json changed: $cc_flows $cc_s0"
got=$(count "$T/s1" 'dst host 185.244.25.235 and dst port 6667')
[ "$got" = "$cc_flows" ] || fail "C&C flows: $got, want $cc_flows"
got=$(count "$T/s1" 'dst host 185.244.25.235 and dst port 6667 and flags S and not flags A')
[ "$got" = "$cc_s0" ] || fail "SYN-only C&C flows: $got, want $cc_s0"
got=$(count "$T/s1" 'src host 185.244.25.235 and src port 6667 and flags S and flags A')
want=$(awk -F, '$5 == "185.244.25.235" && $6 == 6667 && $19 > 0 && $16 ~ /h/' "$D/CTU-Malware-Capture-34-1-labeled.csv" | wc -l)
[ "$got" = "$want" ] || fail "SYN+ACK answers from the C&C: $got, awk says $want"
out=$("$BOTSCOPE" flows --store "$T/s1" --count -o ndjson 'host 185.244.25.235 and port 6667')
echo "$out" | grep -q "\"packets\":$cc_pkts,\"bytes\":$cc_bytes," || fail "C&C totals: $out"
pass
