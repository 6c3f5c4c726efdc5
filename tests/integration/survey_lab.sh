#!/usr/bin/env bash
# The survey against a lab of real servers (survey_lablib.sh: busybox telnetd with real logins,
# dropbear, lighttpd with Basic and Digest over HTTP and HTTPS) in network namespaces with no
# route out. Checks that the survey
#   - refuses to start without --scope/--operator, and the lab range without --lab;
#   - finds exactly the weak devices and reports nothing else (NDJSON and CSV);
#   - never sends a packet to the blocklisted device or the devices outside the scope
#     (tcpdump on the scanner's only interface);
#   - records one evidence record per established connection (the capture's SYN-ACKs) and one
#     per credential attempt, in the state database;
#   - sends nothing but user names and passwords to Telnet devices, nothing after a success,
#     and only "GET /" requests to web servers (the capture's payloads);
#   - resumes after SIGTERM without touching devices it had finished;
#   - with --sweep syn (raw SYN probes first) finds the same open ports and findings, sends one
#     probe per device and port and nothing to blocklisted or out-of-scope addresses.
# Needs root, ip netns, tcpdump, tshark, sqlite3, jq and the lab's servers; else SKIP (77).
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
. "$BS_SOURCE_DIR/tests/integration/survey_lablib.sh"
for t in tcpdump tshark sqlite3 jq python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
TP=""
cleanup() {
    [ -n "$TP" ] && kill "$TP" 2>/dev/null
    lab_down
}
trap cleanup EXIT
lab_up
W=$LAB_W

# ---- refusals (exit 2) before any packet ----
"$BOTSCOPE" survey --operator x >/dev/null 2>"$W/err"; expect_rc 2 $? "no --scope"
grep -q -- "--scope" "$W/err" || fail "no --scope: message does not name the option"
"$BOTSCOPE" survey --scope "$W/scope" >/dev/null 2>"$W/err"; expect_rc 2 $? "no --operator"
grep -q -- "--operator" "$W/err" || fail "no --operator: message does not name the option"
"$BOTSCOPE" survey --scope "$W/scope" --operator x >/dev/null 2>"$W/err"
expect_rc 2 $? "lab range without --lab"
grep -q "special-purpose" "$W/err" || fail "special range refusal does not say why"
printf '198.18.1.9,abuse@example.net\n' >"$W/bad_optout"
"$BOTSCOPE" survey --lab --scope "$W/scope" --operator x --opt-out "$W/bad_optout" >/dev/null 2>"$W/err"
expect_rc 2 $? "opt-out without a date"
grep -q "bad_optout:1:" "$W/err" || fail "opt-out error does not name file and line"

# The SYN sweep refuses a source address that is not the scanner's (exit 1 before a probe).
lab_s "$BOTSCOPE" survey --lab --scope "$W/scope" --operator x --sweep syn --source 198.18.0.77 \
    >/dev/null 2>"$W/err"
expect_rc 1 $? "SYN sweep from a foreign source address"
grep -q -- "--source" "$W/err" || fail "foreign source refusal does not name --source"
"$BOTSCOPE" survey --lab --scope "$W/scope" --operator x --sweep sideways >/dev/null 2>"$W/err"
expect_rc 2 $? "unknown --sweep mode"

# ---- capture on the scanner's interface ----
capture_start() { # FILE
    rm -f "$W/tcpdump.pid" "$W/tcpdump.err"
    lab_s sh -c 'echo $$ > "$1"; exec tcpdump -i s0 -U -s 512 -w "$2" tcp 2>"$3"' \
        sh "$W/tcpdump.pid" "$1" "$W/tcpdump.err" &
    for _ in $(seq 100); do grep -q "listening on" "$W/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
    TP=$(cat "$W/tcpdump.pid")
}
capture_stop() {
    sleep 0.5
    kill -INT "$TP" 2>/dev/null
    while kill -0 "$TP" 2>/dev/null; do sleep 0.1; done
    TP=""
}

SURVEY=(survey --lab --scope "$W/scope" --blocklist "$W/blocklist" --operator lab-test
        --credentials "$W/creds" --ports 23,22,80,443,554,21 --rate 200 --rate-net 200
        --rate-host 20 --connect-timeout 1000 --cred-pause 200 "${LAB_ASSESS[@]}")

mkdir -p "$W/data"
capture_start "$W/run.pcap"
lab_s "$BOTSCOPE" "${SURVEY[@]}" --data "$W/data" >"$W/findings.ndjson" 2>"$W/run.err"
rc=$?
capture_stop
[ $rc -eq 0 ] || { cat "$W/run.err" >&2; fail "survey exited $rc"; }

# Exactly the weak devices, nothing else.
jq -r '[.addr, .port, .service, .finding] | join(" ")' "$W/findings.ndjson" | sort >"$W/got"
cat >"$W/want" <<'WANT'
198.18.1.10 23 telnet infected
198.18.1.13 23 telnet infected
198.18.1.2 23 telnet weak_credential
198.18.1.4 22 ssh weak_credential
198.18.1.6 443 https weak_credential
198.18.1.6 80 http weak_credential
198.18.1.8 80 http vulnerable_firmware
WANT
diff -u "$W/want" "$W/got" || fail "findings differ from the lab's weak devices"
for k in addr port service finding vendor product version cves evidence; do
    jq -e "has(\"$k\")" "$W/findings.ndjson" >/dev/null || fail "finding lacks key $k"
done
jq -e -s 'map(select(.addr == "198.18.1.2")) | .[0].evidence.user == "root" and .[0].evidence.pair == 3' \
    "$W/findings.ndjson" >/dev/null || fail "telnet finding does not name the pair"
jq -e -s 'map(select(.finding == "vulnerable_firmware")) | .[0] | .version == "2.5.0" and
       (.cves | any(. == "CVE-2017-17562")) and .product != ""' \
    "$W/findings.ndjson" >/dev/null || { grep vulnerable "$W/findings.ndjson" >&2; fail "vulnerable firmware finding lacks version or CVE"; }

# The SSH pre-login banner (dropbear -b) identifies the device behind the SSH server.
jq -e -s 'map(select(.addr == "198.18.1.4")) | .[0] | .vendor == "Ubiquiti" and .product == "EdgeOS"' \
    "$W/findings.ndjson" >/dev/null || fail "SSH pre-login banner not used: $(grep 198.18.1.4 "$W/findings.ndjson")"

# The infected devices are reported by their sign, with its family and reference.
jq -e -s 'map(select(.finding == "infected")) | map({(.addr): .evidence.sign}) | add ==
          {"198.18.1.10": "wifatch-telnet-notice", "198.18.1.13": "mirai-killer-telnet"}' \
    "$W/findings.ndjson" >/dev/null || fail "infection signs: $(grep infected "$W/findings.ndjson")"
jq -e -s 'map(select(.finding == "infected")) | all(.evidence.family != "" and .evidence.reference != "")' \
    "$W/findings.ndjson" >/dev/null || fail "infection evidence lacks family or reference"

# No packet to the blocklisted device or outside the scope; packets to the lab at all.
for a in 198.18.1.9 198.18.1.16 198.18.1.17; do
    n=$(tcpdump -r "$W/run.pcap" -n "dst host $a" 2>/dev/null | wc -l)
    [ "$n" -eq 0 ] || fail "$n packets sent to $a (blocklisted or out of scope)"
done
n=$(tcpdump -r "$W/run.pcap" -n "dst net 198.18.1.0/28" 2>/dev/null | wc -l)
[ "$n" -gt 50 ] || fail "only $n packets to the lab: the capture saw nothing"
n=$(tcpdump -r "$W/run.pcap" -n "not dst net 198.18.1.0/28 and src host 198.18.0.1" 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "$n packets from the scanner left the scope"

# Every established connection has its evidence record, and every attempt too.
syn_acks=$(tcpdump -r "$W/run.pcap" -n 'src net 198.18.1.0/28 and tcp[13] & 0x12 == 0x12' 2>/dev/null | wc -l)
ev_open=$(sqlite3 "$W/data/state.db" "select count(*) from records where kind='evidence' and json_extract(body,'\$.tried')='connect' and json_extract(body,'\$.outcome')='open'")
[ "$syn_acks" -eq "$ev_open" ] || fail "$syn_acks connections established, $ev_open evidence records"
attempts=$(sqlite3 "$W/data/state.db" "select count(*) from records where kind='evidence' and json_extract(body,'\$.tried') like 'login%'")
grep -q "$attempts credential attempts" "$W/run.err" || fail "attempt evidence ($attempts) differs from the summary"
[ "$(sqlite3 "$W/data/state.db" "select count(distinct json_extract(body,'\$.operator')) from records where kind='evidence'")" = 1 ] ||
    fail "evidence without the operator"
[ "$(sqlite3 "$W/data/state.db" "select count(*) from records where kind='finding' and status='open'")" = 7 ] ||
    fail "the state database does not hold the seven open findings"
sqlite3 "$W/data/state.db" "select body from records where kind='evidence'" | jq -e -s \
    'all(.[]; .src == "198.18.0.1" and (.dst | startswith("198.18.1.")) and .time_ms > 0)' >/dev/null ||
    fail "evidence records lack source, destination or time"

# What the survey sent: to Telnet only user names and passwords (IAC answers aside), nothing
# after the successful password; to web servers only GET / requests.
tshark -r "$W/run.pcap" -Y 'ip.src == 198.18.0.1 && tcp.len > 0 && (tcp.dstport == 23 || tcp.dstport == 80)' \
    -T fields -e ip.dst -e tcp.dstport -e tcp.stream -e tcp.payload 2>/dev/null >"$W/payloads"
python3 - "$W/payloads" "$W/creds" <<'PY' || fail "the survey sent something other than logins and GET /"
import sys
creds = [l.rstrip("\n").split(":", 1) for l in open(sys.argv[2]) if l.strip()]
allowed = {u for u, _ in creds} | {p for _, p in creds}
streams = {}
for line in open(sys.argv[1]):
    dst, port, stream, hexdata = line.rstrip("\n").split("\t")
    data = bytes.fromhex(hexdata.replace(":", ""))
    streams.setdefault((dst, port, stream), bytearray()).extend(data)
ok = True
for (dst, port, stream), data in streams.items():
    if port == "80":
        for req in data.split(b"\r\n\r\n"):
            if req and not req.startswith(b"GET / HTTP/1.1\r\n"):
                print("unexpected HTTP request to", dst, req[:60]); ok = False
        continue
    # Strip IAC negotiation (3-byte commands), then split lines.
    text, i = bytearray(), 0
    while i < len(data):
        if data[i] == 255:
            i += 3
            continue
        text.append(data[i]); i += 1
    lines = [l for l in text.decode("latin-1").split("\r\n")]
    if lines[-1] != "":
        print("telnet data not ending in a line to", dst, lines); ok = False
    for l in lines[:-1]:
        if l not in allowed:
            print("telnet sent a non-credential line to", dst, repr(l)); ok = False
    if dst == "198.18.1.2" and lines[:-1] and lines[-2] == "xc3511":
        pass
# The successful stream ends with the right password: nothing after it.
last = [d for (dst, port, s), d in streams.items() if dst == "198.18.1.2" and port == "23"]
if not any(bytes(d).endswith(b"root\r\nxc3511\r\n") for d in last):
    print("no telnet stream to 198.18.1.2 ends with the successful login"); ok = False
sys.exit(0 if ok else 1)
PY

# ---- the raw SYN sweep: the same open ports, findings and safety as the connect() sweep ----
mkdir -p "$W/data_syn"
capture_start "$W/syn.pcap"
lab_s "$BOTSCOPE" "${SURVEY[@]}" --sweep syn --data "$W/data_syn" >"$W/syn.ndjson" 2>"$W/syn.err"
rc=$?
capture_stop
[ $rc -eq 0 ] || { cat "$W/syn.err" >&2; fail "SYN survey exited $rc"; }
# 15 devices allowed (the /28 less the blocklisted one), 6 ports each: one probe per port.
grep -q "SYN sweep: 90 probes, 10 ports open, 80 closed" "$W/syn.err" ||
    { cat "$W/syn.err" >&2; fail "SYN sweep summary"; }
open_ports() { # DB: the ports the survey found open, from its evidence
    sqlite3 "$1" "select json_extract(body,'\$.dst') || ' ' || json_extract(body,'\$.port')
                  from records where kind='evidence' and json_extract(body,'\$.tried')='connect'
                  and json_extract(body,'\$.outcome')='open'" | sort -u
}
open_ports "$W/data/state.db" >"$W/open_connect"
open_ports "$W/data_syn/state.db" >"$W/open_syn"
[ "$(wc -l <"$W/open_connect")" -eq 10 ] || fail "connect sweep: $(cat "$W/open_connect")"
diff -u "$W/open_connect" "$W/open_syn" || fail "SYN and connect sweeps found different open ports"
jq -r '[.addr, .port, .service, .finding] | join(" ")' "$W/syn.ndjson" | sort >"$W/got_syn"
diff -u "$W/want" "$W/got_syn" || fail "SYN sweep: findings differ from the lab's weak devices"
for a in 198.18.1.9 198.18.1.16 198.18.1.17; do
    n=$(tcpdump -r "$W/syn.pcap" -n "dst host $a" 2>/dev/null | wc -l)
    [ "$n" -eq 0 ] || fail "SYN sweep: $n packets sent to $a (blocklisted or out of scope)"
done
n=$(tcpdump -r "$W/syn.pcap" -n "not dst net 198.18.1.0/28 and src host 198.18.0.1" 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "SYN sweep: $n packets from the scanner left the scope"
# The raw probes are on the wire (source ports 61000-62023), one per device and port, and
# every SYN-ACK they drew was answered by a reset from the scanner's kernel (no half-open
# connection is left on the device).
RAW='tcp[0:2] >= 61000 and tcp[0:2] < 62024'
n=$(tcpdump -r "$W/syn.pcap" -n "src host 198.18.0.1 and $RAW and tcp[13] == 2" 2>/dev/null | wc -l)
[ "$n" -eq 90 ] || fail "SYN sweep: $n raw SYNs on the wire, want 90"
sa=$(tcpdump -r "$W/syn.pcap" -n "dst host 198.18.0.1 and tcp[2:2] >= 61000 and tcp[2:2] < 62024 and tcp[13] & 0x12 == 0x12" 2>/dev/null | wc -l)
rst=$(tcpdump -r "$W/syn.pcap" -n "src host 198.18.0.1 and $RAW and tcp[13] & 4 != 0" 2>/dev/null | wc -l)
[ "$sa" -eq 10 ] && [ "$rst" -eq 10 ] || fail "SYN sweep: $sa SYN-ACKs to the probes, $rst resets"

# CSV output carries the same findings.
lab_s "$BOTSCOPE" "${SURVEY[@]}" --ports 22 --output csv >"$W/findings.csv" 2>/dev/null ||
    fail "CSV run failed"
head -1 "$W/findings.csv" | grep -q '^addr,port,service,finding,vendor,product,version,cves,evidence$' ||
    fail "CSV header"
grep -q '^198.18.1.4,22,ssh,weak_credential,' "$W/findings.csv" || fail "CSV finding"
[ "$(wc -l <"$W/findings.csv")" -eq 2 ] || fail "CSV holds other findings"

# ---- infected: the telescope's list, inside the scope only ----
cat >"$W/sources.ndjson" <<'SRC'
{"src":"198.18.1.11","packets":40,"ports":[23],"fingerprints":["mirai"],"infected_iot":true}
{"src":"198.18.1.12","packets":40,"ports":[23],"fingerprints":["zmap"],"infected_iot":false}
{"src":"198.18.1.40","packets":40,"ports":[23],"fingerprints":["mirai"],"infected_iot":true}
{"src":"198.18.1.9","packets":40,"ports":[23],"fingerprints":["mirai"],"infected_iot":true}
SRC
lab_s "$BOTSCOPE" "${SURVEY[@]}" --ports 21 --infected "$W/sources.ndjson" >"$W/inf.ndjson" 2>/dev/null ||
    fail "run with --infected failed"
[ "$(jq -r 'select(.finding == "infected") | .addr' "$W/inf.ndjson")" = "198.18.1.11" ] ||
    fail "infected findings: $(cat "$W/inf.ndjson")"

# ---- resume after SIGTERM: finished devices are not touched again ----
mkdir -p "$W/data2"
ip netns exec "$LAB_S" "$BOTSCOPE" "${SURVEY[@]}" --data "$W/data2" -v >"$W/r1.ndjson" 2>"$W/r1.err" &
SP=$!
# Stop it once at least one device is finished (at most 60 s).
for _ in $(seq 600); do grep -q "device .* done" "$W/r1.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM $SP
wait $SP
expect_rc 0 $? "interrupted run"
grep -q "stopped by a signal" "$W/r1.err" || fail "interrupted run does not say so"
sed -n 's/.*device \([0-9.]*\) done.*/\1/p' "$W/r1.err" | sort -u >"$W/done1"
[ -s "$W/done1" ] || fail "no device finished before the signal"
capture_start "$W/resume.pcap"
lab_s "$BOTSCOPE" "${SURVEY[@]}" --data "$W/data2" --resume -v >"$W/r2.ndjson" 2>"$W/r2.err"
rc=$?
capture_stop
expect_rc 0 $rc "resumed run"
while read -r a; do
    n=$(tcpdump -r "$W/resume.pcap" -n "dst host $a" 2>/dev/null | wc -l)
    [ "$n" -eq 0 ] || fail "resumed run sent $n packets to $a, finished before the kill"
done <"$W/done1"
cat "$W/r1.ndjson" "$W/r2.ndjson" | jq -r '[.addr, .port, .service, .finding] | join(" ")' |
    sort -u >"$W/got2"
diff -u "$W/want" "$W/got2" || fail "interrupted + resumed runs do not find exactly the weak devices"
lab_s "$BOTSCOPE" "${SURVEY[@]}" --data "$W/data2" --resume >/dev/null 2>"$W/err"
expect_rc 2 $? "resume of a finished run"
pass 1
