#!/usr/bin/env bash
# MaxMind DB tables for --geo and --pfx2as: tiny databases made here with Debian's
# MaxMind::DB::Writer (libmaxmind-db-writer-perl), IPv4 and IPv6 trees, checked against the
# golden capture; the same networks as the committed CSV/pfx2as tables must give the golden
# outputs byte for byte. Then the error paths: missing, corrupt and truncated files exit 2
# with a message naming the file.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || skip "libmaxmind-db-writer-perl not installed"
D="$BS_SOURCE_DIR/tests/data/telescope"
MK="$BS_SOURCE_DIR/tests/integration/telescope_mmdb.pl"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
DARK=198.18.0.0/16,2001:db8:dead::/48
run() { # out-dir geo pfx2as
    "$BOTSCOPE" telescope --read "$D/synth_golden.pcap" --darknet "$DARK" \
        --research-scanners "$D/research.txt" --geo "$2" --pfx2as "$3" --out "$1" -q
}
src() { jq -c --arg s "$1" 'select(.src == $s)' "$2/sources.ndjson"; }
want() { # dir src jq-predicate message
    src "$2" "$1" | jq -e "$3" >/dev/null || fail "$2: $4: $(src "$2" "$1")"
}

# 1. The networks of geo.csv and pfx2as.txt as MMDB (IPv6 tree): golden outputs unchanged.
perl "$MK" "$W/geo.mmdb" country 6 45.1.1.0/24=BR 60.1.1.0/24=CN 93.184.0.0/16=US || fail "perl writer"
perl "$MK" "$W/asn.mmdb" asn 6 45.1.1.0/24=64500 60.1.1.0/24=64501 93.184.0.0/16=15133 || fail "perl writer"
run "$W/o1" "$W/geo.mmdb" "$W/asn.mmdb" || fail "telescope with MMDB tables failed"
for f in intervals intervals_5m intervals_1h intervals_1d sources victims; do
    diff -u "$D/expected/synth/$f.ndjson" "$W/o1/$f.ndjson" >&2 || fail "$f.ndjson differs with MMDB tables"
done
want "$W/o1" 45.1.1.1 '.asn == 64500 and .cc == "BR"' "MMDB country and ASN"

# 2. IPv6 tree with an IPv6 network, a registered_country-only record (lower case), a network
#    without the field, and content detection (no .mmdb extension).
perl "$MK" "$W/geo6.dat" country 6 45.1.0.0/16=BR 60.1.1.0/24=reg:cn 2a00:1450::/32=JP || fail "perl writer"
perl "$MK" "$W/asn6.dat" asn 6 45.1.0.0/16=64500 2a00:1450::/32=15169 || fail "perl writer"
run "$W/o2" "$W/geo6.dat" "$W/asn6.dat" || fail "telescope with IPv6 MMDB tables failed"
want "$W/o2" 45.1.1.2 '.asn == 64500 and .cc == "BR"' "IPv4 in an IPv6 tree"
want "$W/o2" 60.1.1.1 '.cc == "CN" and (has("asn") | not)' "registered_country, no ASN"
want "$W/o2" 2a00:1450:4001::5 '.cc == "JP" and .asn == 15169' "IPv6 network"
want "$W/o2" 8.8.4.4 '(has("cc") or has("asn")) | not' "address outside every network"
jq -e '.countries | map(.cc) | (index("BR") and index("CN") and index("JP"))' "$W/o2/intervals_1d.ndjson" \
    >/dev/null || fail "countries in the day roll-up: $(jq -c .countries "$W/o2/intervals_1d.ndjson")"
jq -e '.asns | map(.asn) | (index(64500) and index(15169))' "$W/o2/intervals_1d.ndjson" \
    >/dev/null || fail "asns in the day roll-up: $(jq -c .asns "$W/o2/intervals_1d.ndjson")"

# 3. IPv4 tree (ip_version 4): IPv4 sources found, the IPv6 source not.
perl "$MK" "$W/geo4.mmdb" country 4 45.1.0.0/16=BR 60.1.1.0/24=CN || fail "perl writer"
perl "$MK" "$W/asn4.mmdb" asn 4 45.1.0.0/16=64500 60.1.1.0/24=64501 || fail "perl writer"
run "$W/o3" "$W/geo4.mmdb" "$W/asn4.mmdb" || fail "telescope with IPv4 MMDB tables failed"
want "$W/o3" 45.1.1.3 '.asn == 64500 and .cc == "BR"' "IPv4 tree"
want "$W/o3" 60.1.1.2 '.asn == 64501 and .cc == "CN"' "IPv4 tree"
want "$W/o3" 2a00:1450:4001::5 '(has("cc") or has("asn")) | not' "IPv6 source, IPv4 tree"

# 4. Errors: exit 2 and the file named.
err() { # message expected-file args...
    local msg=$1 file=$2
    shift 2
    "$BOTSCOPE" telescope --read "$D/synth_golden.pcap" --darknet "$DARK" --out "$W/e" "$@" \
        2>"$W/err" >/dev/null
    expect_rc 2 $? "$msg"
    grep -qF "$file" "$W/err" || fail "$msg: message does not name $file: $(cat "$W/err")"
}
err "missing MMDB" "$W/none.mmdb" --geo "$W/none.mmdb"
head -c 3000 /dev/urandom >"$W/junk.mmdb"
err "corrupt MMDB" "$W/junk.mmdb" --geo "$W/junk.mmdb"
err "corrupt MMDB as pfx2as" "$W/junk.mmdb" --pfx2as "$W/junk.mmdb"
size=$(stat -c %s "$W/geo.mmdb")
head -c $((size / 3)) "$W/geo.mmdb" >"$W/cut.mmdb"
err "truncated MMDB" "$W/cut.mmdb" --geo "$W/cut.mmdb"
# the metadata kept, the search tree overwritten: records point outside the file
{ head -c 24 /dev/zero | tr '\000' '\377'; tail -c $((size - 24)) "$W/geo.mmdb"; } >"$W/bad.mmdb"
err "damaged MMDB tree" "$W/bad.mmdb" --geo "$W/bad.mmdb"
# the tree intact, the data section (between the 16-byte separator and the metadata) garbled
python3 - "$W/geo.mmdb" "$W/baddata.mmdb" <<'PY' || fail "cannot make baddata.mmdb"
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
meta = b.rfind(b'\xab\xcd\xefMaxMind.com')
sep = b.find(bytes(16))
assert 0 < sep < meta
for i in range(sep + 16, meta):
    b[i] = 0xff
open(sys.argv[2], 'wb').write(b)
PY
err "damaged MMDB data" "$W/baddata.mmdb" --geo "$W/baddata.mmdb"
pass
