#!/usr/bin/env bash
# Golden tests of botscope telescope: committed captures (a synthetic capture covering every
# rule, and real zmap 2.1.1 / masscan 1.3.2 / nmap 7.93 probes captured in a test namespace)
# against committed expected outputs, plus direct assertions of the key facts.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
D="$BS_SOURCE_DIR/tests/data/telescope"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
DARK=198.18.0.0/16,2001:db8:dead::/48

# The generator is deterministic: the committed capture is what --synth writes.
"$BOTSCOPE" telescope --synth "$W/synth.pcap" --darknet "$DARK" --seed 1 || fail "--synth failed"
cmp -s "$W/synth.pcap" "$D/synth_golden.pcap" || fail "--synth output differs from synth_golden.pcap"

"$BOTSCOPE" telescope --read "$D/synth_golden.pcap" --darknet "$DARK" \
    --research-scanners "$D/research.txt" --pfx2as "$D/pfx2as.txt" --geo "$D/geo.csv" --out "$W/o" \
    || fail "telescope on synth_golden.pcap failed"
for f in intervals intervals_5m intervals_1h intervals_1d sources victims; do
    diff -u "$D/expected/synth/$f.ndjson" "$W/o/$f.ndjson" >&2 || fail "$f.ndjson differs from golden"
done

S="$W/o/sources.ndjson"
src() { jq -c --arg s "$1" 'select(.src == $s)' "$S"; }
want() { # src jq-predicate message
    src "$1" | jq -e "$2" >/dev/null || fail "$1: $3: $(src "$1")"
}
for b in 45.1.1.1 45.1.1.2 45.1.1.3; do
    want $b '.fingerprints == ["mirai"] and .infected_iot and .packets == 40 and .scan_class == "horizontal"' "Mirai bot"
done
want 60.1.1.1 '.fingerprints == ["masscan"] and (.infected_iot | not)' "masscan"
want 60.1.1.2 '.fingerprints == ["zmap"] and (.infected_iot | not)' "zmap"
want 60.1.1.3 '.fingerprints == ["nmap"] and .scan_class == "vertical" and .destinations == 1' "nmap"
want 60.1.1.4 '.fingerprints == ["unicornscan"] and .fingerprint_votes.unicornscan == 29' "unicornscan"
want 60.1.1.5 '.fingerprints == [] and .infected_iot and .iot_packets == 20' "IoT scanner"
want 71.6.0.1 '.research and (.infected_iot | not) and (.tags | index("research"))' "research scanner"
want 10.1.2.3 '.bogon and (.infected_iot | not) and (.fingerprints | index("mirai"))' "bogon source"
want 8.8.4.4 '.tags == ["misconfig"] and .scan_class == "none"' "DNS answers"
want 7.7.7.7 '.tags == ["misconfig"]' "BitTorrent DHT"
want 9.9.9.1 '.tags == ["udp_probe"]' "UDP probe"
want 61.1.1.1 '.tags == ["abnormal_flags"] and .packets == 8' "abnormal flags"
want 62.1.1.1 '(.tags | index("fragment")) and .packets == 2' "fragments"
want 2a00:1450:4001::5 '.tags == ["icmp_scan"] and .packets == 5' "IPv6 echo scan"
want 45.1.1.1 '.asn == 64500 and .cc == "BR"' "pfx2as/geo"
[ -z "$(src 1.1.1.1)" ] || fail "traffic outside the darknet was profiled"
[ "$(jq -s 'length' "$S")" -eq 21 ] || fail "expected 21 sources"
[ "$(jq -s '[.[] | select(.infected_iot)] | length' "$S")" -eq 4 ] || fail "expected 4 infected sources"

V="$W/o/victims.ndjson"
[ "$(jq -s 'length' "$V")" -eq 2 ] || fail "expected 2 victims: $(cat "$V")"
jq -s -e 'map(select(.victim == "93.184.0.10"))[0] | .packets == 40 and .ports == [80] and .peak_ppm >= 30
       and .duration_ms == 100000 and ((.scaled_pps - 0.4 * 65536) | fabs) < 1' "$V" >/dev/null \
    || fail "SYN-ACK victim wrong: $(cat "$V")"
jq -s -e 'map(select(.victim == "93.184.0.30"))[0] | .packets == 40 and .ports == [53] and .icmp_packets == 40' \
    "$V" >/dev/null || fail "ICMP-error victim wrong"
grep -q '93.184.0.20' "$V" && fail "24-packet attack must stay below the threshold"

I="$W/o/intervals.ndjson"
[ "$(jq -s 'length' "$I")" -eq 10 ] || fail "expected 10 one-minute intervals"
[ "$(jq -s 'map(select(.packets == 0)) | length' "$I")" -eq 1 ] || fail "expected one empty interval"
[ "$(jq -s 'map(.packets) | add' "$I")" -eq 510 ] || fail "darknet packets"
[ "$(jq -s 'map(.non_darknet_packets) | add' "$I")" -eq 20 ] || fail "non-darknet packets"
[ "$(jq -s 'map(.tags.backscatter) | add' "$I")" -eq 104 ] || fail "backscatter packets"
[ "$(jq -s 'map(.fingerprints.mirai) | add' "$I")" -eq 125 ] || fail "mirai packets (120 bots + 5 bogon)"
for r in 5m 1h 1d; do
    [ "$(jq -s 'map(.packets) | add' "$W/o/intervals_$r.ndjson")" -eq 510 ] || fail "roll-up $r total"
done
jq -e '.resolution_s == 300' "$W/o/intervals_5m.ndjson" >/dev/null || fail "5m resolution key"
jq -e '.counters.packets_read == 530 and .config.darknet == ["198.18.0.0/16", "2001:db8:dead::/48"]
       and .config.darknet_ipv4_addresses == 65536 and .inputs[0].packets == 530
       and (.botscope_version | length > 0)' "$W/o/provenance.json" >/dev/null || fail "provenance"

# Real tool captures: each recognised, every probe counted.
: > "$W/nobogons.txt"
for t in zmap:64 masscan:128 nmap:32; do
    tool=${t%%:*} n=${t##*:}
    "$BOTSCOPE" telescope --read "$D/$tool.pcap" --darknet 198.18.7.0/24 --bogons "$W/nobogons.txt" \
        --out "$W/$tool" || fail "$tool capture"
    diff -u "$D/expected/tools/$tool.sources.ndjson" "$W/$tool/sources.ndjson" >&2 || fail "$tool sources golden"
    diff -u "$D/expected/tools/$tool.intervals.ndjson" "$W/$tool/intervals.ndjson" >&2 || fail "$tool intervals golden"
    jq -e --arg t "$tool" --argjson n "$n" '.fingerprints == [$t] and .syn_packets == $n' \
        "$W/$tool/sources.ndjson" >/dev/null || fail "$tool not recognised"
done
pass
