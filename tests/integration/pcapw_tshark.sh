#!/usr/bin/env bash
# The one packet builder and pcap writer (src/core/pktbuild.c, pcapw.c) checked against tshark
# as an oracle: the telescope's synthetic golden capture (IPv4 TCP with options, UDP, ICMP
# errors quoting UDP, fragments, ICMPv6 echo) and a simulated world's captures carry only good
# checksums, and the fields tshark reads are the ones the scenarios wrote.
set -u
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || skip "tshark not installed"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT

"$BOTSCOPE" telescope --synth "$d/g.pcap" --darknet 44.0.0.0/8,2001:db8:dead::/48 \
    --scenario golden --start-ms 1700000000000 || fail "synth exit $?"
[ ! -e "$d/.g.pcap.tmp" ] || fail "temporary file left behind"
ts() { tshark -r "$d/g.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
       -o udp.check_checksum:TRUE "$@" 2>/dev/null; }

n=$(ts -T fields -e frame.number | wc -l)
[ "$n" -eq 530 ] || fail "golden: $n frames, want 530"
# status 2 is a bad checksum, 1 good; 3 (unverified) only where the UDP checksum is absent.
# (The scenario's DNS answers without records and its first fragment's UDP length are
# malformed on purpose, so only checksums are judged here.)
bad=$(ts -Y 'ip.checksum.status == 2 || tcp.checksum.status == 2 || udp.checksum.status == 2 ||
             icmp.checksum.status == 2 || icmpv6.checksum.status == 2' \
        -T fields -e frame.number | wc -l)
[ "$bad" -eq 0 ] || fail "golden: $bad frames with a bad checksum"
good_tcp=$(ts -Y 'tcp.checksum.status == 1' -T fields -e frame.number | wc -l)
[ "$good_tcp" -eq 457 ] || fail "golden: $good_tcp TCP frames verified good, want 457"
good_icmp=$(ts -Y 'icmp.checksum.status == 1 || icmpv6.checksum.status == 1' -T fields -e frame.number | wc -l)
[ "$good_icmp" -eq 55 ] || fail "golden: $good_icmp ICMP frames verified good, want 55"

# Mirai bots: sequence number == destination address
mism=$(ts -Y 'ip.src == 45.1.1.1' -T fields -e tcp.seq_raw -e ip.dst |
       awk '{ split($2, a, "."); if ($1 != ((a[1] * 256 + a[2]) * 256 + a[3]) * 256 + a[4]) m++ } END { print m + 0 }')
[ "$mism" -eq 0 ] || fail "golden: $mism Mirai frames whose seq is not the destination"
# nmap-like SYNs: MSS 1460 option, window 1024
[ "$(ts -Y 'tcp.options.mss_val == 1460 && tcp.window_size_value == 1024' -T fields -e frame.number | wc -l)" -eq 50 ] ||
    fail "golden: nmap frames with MSS 1460 and window 1024"
# ICMP port unreachable quoting UDP to port 53, outer TTL 60 and quoted TTL 50
[ "$(ts -Y 'icmp.type == 3 && icmp.code == 3' -T fields -e udp.dstport -e ip.ttl | sort -u)" = "$(printf '53\t60,50')" ] ||
    fail "golden: ICMP errors do not quote UDP/53 with TTLs 60,50"
# the fragmented datagram: MF with offset 0, then offset 6 without MF, IP ID 777
[ "$(ts -Y 'ip.id == 777' -T fields -e ip.flags.mf -e ip.frag_offset | tr '\n' ' ')" = "$(printf '1\t0 0\t6 ')" ] &&
    true || [ "$(ts -Y 'ip.id == 777' -T fields -e ip.flags.mf -e ip.frag_offset | tr '\n' ' ')" = "$(printf '1\t0 0\t48 ')" ] ||
    fail "golden: fragments $(ts -Y 'ip.id == 777' -T fields -e ip.flags.mf -e ip.frag_offset | tr '\n' ' ')"
# ICMPv6 echo requests: identifier 0x77, sequence 1, hop limit 64
[ "$(ts -Y 'icmpv6.type == 128' -T fields -e icmpv6.echo.identifier -e icmpv6.echo.sequence_number -e ipv6.hlim | sort -u)" = "$(printf '0x0077\t1\t64')" ] ||
    fail "golden: ICMPv6 echo fields"
# timestamps: microseconds, in order, from the requested start
first=$(ts -c 1 -T fields -e frame.time_epoch)
case "$first" in 1700000*) ;; *) fail "golden: first timestamp $first" ;; esac

# The simulator's captures (IPv4 and IPv6 TCP/UDP/ICMP, export datagrams over UDP). Only the
# outermost headers are judged (-E occurrence=f): sFlow samples and ICMP errors carry packets
# cut short, whose inner transport checksums cannot verify.
"$BOTSCOPE" simulate --seed 5 --duration 10m --out "$d/w" -q || fail "simulate exit $?"
for f in exports darknet; do
    [ ! -e "$d/w/.$f.pcap.tmp" ] || fail "$f: temporary file left behind"
    tshark -r "$d/w/$f.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -o udp.check_checksum:TRUE -T fields -E occurrence=f -e ip.checksum.status \
        -e tcp.checksum.status -e udp.checksum.status -e icmp.checksum.status \
        -e icmpv6.checksum.status 2>/dev/null >"$d/$f.st"
    [ "$(wc -l <"$d/$f.st")" -gt 100 ] || fail "$f.pcap: too few frames read"
    if [ $f = exports ]; then cols='$1 " " $3'; else cols='$0'; fi
    bad=$(awk -F'\t' "{ print $cols }" "$d/$f.st" | grep -c 2)
    [ "$bad" -eq 0 ] || fail "$f.pcap: $bad frames with a bad checksum"
    good=$(awk -F'\t' '$2 == 1 || $3 == 1 || $4 == 1 || $5 == 1 { g++ } END { print g + 0 }' "$d/$f.st")
    [ "$good" -gt 100 ] || fail "$f.pcap: only $good frames with a verified transport checksum"
done
pass
