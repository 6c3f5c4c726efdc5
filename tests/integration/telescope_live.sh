#!/usr/bin/env bash
# Live scanner test: runs zmap, masscan and nmap inside a network namespace created here (a
# veth pair, the test prefix 198.18.7.0/24 routed to it, NO default route: nothing can leave
# the namespace), captures their probes with tcpdump, and checks that botscope telescope
# recognises each tool and counts its probes; also runs botscope's own live capture
# (--interface) on the namespace's interface while zmap scans. Needs root, ip netns, tcpdump,
# zmap, masscan and nmap; otherwise prints SKIP and exits 77.
# TEL_SAVE_DIR=DIR keeps the captures (used to refresh tests/data/telescope/*.pcap).
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns"
for t in ip tcpdump zmap masscan nmap jq; do
    command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
NS="bs_tel_$$"
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
W=$(mktemp -d)
TP=""
cleanup() {
    [ -n "$TP" ] && kill "$TP" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx ip link add v0 type veth peer name v1 || skip "veth not available"
nsx ip link set v0 address 02:00:00:00:00:01
nsx ip link set v1 address 02:00:00:00:00:02
nsx ip link set v0 up
nsx ip link set v1 up
nsx ip addr add 192.0.2.1/32 dev v0
nsx ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent
nsx ip route add 198.18.7.0/24 via 192.0.2.2 dev v0 onlink
# Only the test prefix is routed: assert there is no default route before scanning.
nsx ip route | grep -q '^default' && fail "namespace has a default route"
: > "$W/empty.bl"
: > "$W/nobogons.txt"

# `ip netns exec` forks, so the capture records its own pid for a precise kill.
# wait_for FILE TEXT: until FILE contains TEXT (at most 10 s).
wait_for() {
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "timed out waiting for '$2' in $1"
}
capture_start() {
    rm -f "$W/tcpdump.pid" "$W/tcpdump.err"
    nsx sh -c 'echo $$ > "$1"; exec tcpdump -i v1 -U -s 256 -w "$2" "ip and tcp" 2>"$3"' \
        sh "$W/tcpdump.pid" "$1" "$W/tcpdump.err" &
    wait_for "$W/tcpdump.err" "listening on"
    TP=$(cat "$W/tcpdump.pid")
}
capture_stop() {
    sleep 1
    kill -INT "$TP" 2>/dev/null
    while kill -0 "$TP" 2>/dev/null; do sleep 0.1; done
    wait 2>/dev/null
    TP=""
}

capture_start "$W/zmap.pcap"
nsx zmap -q -i v0 -S 192.0.2.1 -G 02:00:00:00:00:02 -p 23 -r 2000 -c 1 -b "$W/empty.bl" \
    -o "$W/zmap.out" 198.18.7.0/26 >/dev/null 2>&1 || fail "zmap did not run"
capture_stop
capture_start "$W/masscan.pcap"
nsx masscan -e v0 --adapter-ip 192.0.2.1 --adapter-mac 02:00:00:00:00:01 \
    --router-mac 02:00:00:00:00:02 -p23,80 --rate 2000 --wait 0 198.18.7.0/26 >/dev/null 2>&1 \
    || fail "masscan did not run"
capture_stop
capture_start "$W/nmap.pcap"
nsx nmap -sS -Pn -n -p 23,80 --max-retries 0 --host-timeout 10s -e v0 198.18.7.0/28 >/dev/null 2>&1 \
    || fail "nmap did not run"
capture_stop

# tool, capture, expected SYN probes
check() {
    local tool=$1 pcap=$2 want=$3 out="$W/out_$1"
    "$BOTSCOPE" telescope --read "$pcap" --darknet 198.18.7.0/24 --bogons "$W/nobogons.txt" --out "$out" \
        || fail "$tool: botscope telescope failed"
    local n
    n=$(jq -s 'length' "$out/sources.ndjson")
    [ "$n" -eq 1 ] || fail "$tool: expected one source, got $n"
    jq -e --arg t "$tool" '.src == "192.0.2.1" and (.fingerprints == [$t]) and .infected_iot == false' \
        "$out/sources.ndjson" >/dev/null || fail "$tool: not recognised: $(cat "$out/sources.ndjson")"
    n=$(jq '.syn_packets' "$out/sources.ndjson")
    [ "$n" -eq "$want" ] || fail "$tool: $n SYN probes counted, $want sent"
    n=$(jq -s 'map(.tags.tcp_scan) | add' "$out/intervals.ndjson")
    [ "$n" -eq "$want" ] || fail "$tool: intervals count $n scans, want $want"
    n=$(jq -s "map(.fingerprints.$tool) | add" "$out/intervals.ndjson")
    [ "$n" -eq "$want" ] || fail "$tool: intervals count $n $tool packets, want $want"
}
check zmap "$W/zmap.pcap" 64
check masscan "$W/masscan.pcap" 128
check nmap "$W/nmap.pcap" 32

# botscope's own live capture while zmap scans port 80.
nsx "$BOTSCOPE" telescope -v --interface v1 --duration 8s --darknet 198.18.7.0/24 \
    --bogons "$W/nobogons.txt" --out "$W/live" 2>"$W/live.err" &
BP=$!
wait_for "$W/live.err" "capturing on v1"
nsx zmap -q -i v0 -S 192.0.2.1 -G 02:00:00:00:00:02 -p 80 -r 2000 -c 1 -b "$W/empty.bl" \
    -o "$W/zmap2.out" 198.18.7.0/27 >/dev/null 2>&1 || fail "zmap (live) did not run"
wait "$BP" || fail "botscope telescope --interface failed"
jq -e '.fingerprints == ["zmap"] and .syn_packets == 32' "$W/live/sources.ndjson" >/dev/null \
    || fail "live: zmap not recognised: $(cat "$W/live/sources.ndjson")"
jq -e '.mode == "live" and .counters.pcap_received >= 32 and .interface == "v1"' \
    "$W/live/provenance.json" >/dev/null || fail "live: provenance counters missing"
# per-interval loss and receive counters add up to the run's
n=$(jq -s 'map(.capture_received) | add' "$W/live/intervals.ndjson")
t=$(jq '.counters.pcap_received' "$W/live/provenance.json")
[ "$n" = "$t" ] && [ "$n" -ge 32 ] || fail "live: intervals count $n captured packets, provenance $t"
jq -e 'has("capture_dropped") and has("capture_if_dropped")' "$W/live/intervals.ndjson" >/dev/null \
    || fail "live: interval capture counters missing"
n=$(jq -s 'map(.capture_received) | add' "$W/live/intervals_1d.ndjson")
[ "$n" = "$t" ] || fail "live: day roll-up counts $n captured packets, provenance $t"
if jq -e 'has("capture_received")' "$W/out_zmap/intervals.ndjson" >/dev/null; then
    fail "offline intervals carry capture counters"
fi

if [ -n "${TEL_SAVE_DIR:-}" ]; then
    cp "$W/zmap.pcap" "$W/masscan.pcap" "$W/nmap.pcap" "$TEL_SAVE_DIR/"
fi
pass
