#!/usr/bin/env bash
# bench/survey/run.sh - the device survey against the tools an operator would use instead.
#
# 1. The lab (tests/integration/survey_lablib.sh: busybox telnetd, dropbear, lighttpd Basic and
#    Digest over HTTP/HTTPS, vulnerable and patched firmware) in the same run: botscope survey
#    against nmap 7.93 -sT -sV with telnet-brute, ssh-brute and http-brute limited to the same
#    pairs (brute.credfile, brute.firstonly). Findings and wall time.
# 2. A sweep of a mostly empty /16 in a namespace (half the addresses refuse at once, half
#    never answer), port 23: hosts per second of botscope (connect() sweep and raw SYN sweep),
#    nmap -sT (forced to 1024 parallel probes, and left to its own parallelism), nmap -sS and
#    zmap, each at the same per-host politeness (one probe per host, no retry, 2 s timeout).
#    The two raw-packet sweepers (botscope --syn, zmap) run at the same packet rate.
#
# Needs root, ip netns, nmap, zmap and the lab's servers. Environment: BOTSCOPE (the binary),
# BS_BENCH_OUT (where results.md goes), SWEEP_PREFIX (default 198.19.0.0/16), SWEEP_RATE
# (packets per second of the raw sweeps, default 50000), NMAP_DEFAULT_MAX (seconds nmap -sT
# with its own parallelism may run before it is stopped, default 300).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BOTSCOPE=${BOTSCOPE:-$SRC/build/release/src/cli/botscope}
OUT=${BS_BENCH_OUT:-$SRC/out/bench/survey}
mkdir -p "$OUT"
export BS_SOURCE_DIR=$SRC BOTSCOPE
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }
. "$SRC/tests/integration/survey_lablib.sh"
for t in nmap zmap; do command -v $t >/dev/null || skip "$t not installed"; done
trap lab_down EXIT
lab_up
W=$LAB_W
ulimit -n 65536 2>/dev/null
# timed NAME CMD...: runs CMD (its stderr into $OUT/NAME.err), leaves "wall user+sys" seconds
# in $OUT/NAME.time.
timed() {
    local name=$1; shift
    local TIMEFORMAT='%R %U %S'
    { time "$@" 2>"$OUT/$name.err"; } 2>"$OUT/$name.time.raw"
    tail -1 "$OUT/$name.time.raw" | awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' >"$OUT/$name.time"
}
wall() { cut -d' ' -f1 "$OUT/$1.time"; }
cpu() { cut -d' ' -f2 "$OUT/$1.time"; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, a / b }'; }

# ---- 1. the lab ----
sed 's|:|/|' "$W/creds" >"$W/nmapcreds"
timed botscope_lab lab_s "$BOTSCOPE" survey --lab --scope "$W/scope" --blocklist "$W/blocklist" \
    --operator bench --credentials "$W/creds" --ports 23,22,80,443 --cred-pause 0 \
    --rate-host 20 --rate-net 200 --rate 200 "${LAB_ASSESS[@]}" >"$OUT/botscope_lab.ndjson"
bs_wall=$(wall botscope_lab)
bs_weak=$(grep -c '"weak_credential"' "$OUT/botscope_lab.ndjson")
bs_vuln=$(grep -c '"vulnerable_firmware"' "$OUT/botscope_lab.ndjson")
bs_inf=$(grep -c '"infected"' "$OUT/botscope_lab.ndjson")
timed nmap_lab lab_s nmap -sT -sV -Pn -n -p 23,22,80,443 --exclude 198.18.1.9 \
    --script telnet-brute,ssh-brute,http-brute \
    --script-args "brute.credfile=$W/nmapcreds,brute.firstonly=true" \
    -oN "$OUT/nmap_lab.txt" 198.18.1.0/28 >/dev/null
nm_wall=$(wall nmap_lab)
# Distinct host:port with "Valid credentials" in nmap's report.
timed botscope_lab_syn lab_s "$BOTSCOPE" survey --lab --scope "$W/scope" --blocklist "$W/blocklist" \
    --operator bench --credentials "$W/creds" --ports 23,22,80,443 --cred-pause 0 --syn \
    --rate-host 20 --rate-net 200 --rate 200 "${LAB_ASSESS[@]}" >"$OUT/botscope_lab_syn.ndjson"
bs_syn_weak=$(grep -c '"weak_credential"' "$OUT/botscope_lab_syn.ndjson")
bs_syn_vuln=$(grep -c '"vulnerable_firmware"' "$OUT/botscope_lab_syn.ndjson")
bs_syn_inf=$(grep -c '"infected"' "$OUT/botscope_lab_syn.ndjson")
nm_weak=$(awk '/^Nmap scan report for/ {h=$NF} /^[0-9]+\/tcp/ {p=$1}
               /Valid credentials/ {print h" "p}' "$OUT/nmap_lab.txt" | sort -u | wc -l)
nm_vuln=$(grep -c 'CVE-' "$OUT/nmap_lab.txt")

# ---- 2. the sweep ----
PFX=${SWEEP_PREFIX:-198.19.0.0/16}
lab_s ip route add "$PFX" via 198.18.0.2 dev s0
base=${PFX%/*}; a=${base%%.*}; rest=${base#*.}; b=${rest%%.*}
lab_d ip route add local "$a.$b.0.0/17" dev lo         # refuses at once
lab_d ip route add blackhole "$a.$b.128.0/17"          # never answers
echo "$PFX" >"$W/sweep_scope"
n_hosts=$((1 << (32 - ${PFX#*/})))
timed botscope_sweep lab_s "$BOTSCOPE" survey --lab --scope "$W/sweep_scope" --operator bench \
    --ports 23/tcp --rate 20000 --rate-net 20000 --rate-host 1 --max-sessions 20000 \
    --connect-timeout 2000 >/dev/null
bs_sweep=$(wall botscope_sweep)
SR=${SWEEP_RATE:-50000}
timed botscope_syn lab_s "$BOTSCOPE" survey --lab --scope "$W/sweep_scope" --operator bench \
    --ports 23/tcp --syn --rate "$SR" --rate-net "$SR" --rate-host 1 --max-sessions 20000 \
    --connect-timeout 2000 >/dev/null
bs_syn=$(wall botscope_syn)
bs_syn_closed=$(sed -n 's/.*SYN sweep: [0-9]* probes, [0-9]* ports open, \([0-9]*\) closed.*/\1/p' "$OUT/botscope_syn.err")
NMAP_SWEEP=(-Pn -n -p 23 --max-retries 0 --max-rtt-timeout 2000ms -T4)
timed nmap_sweep lab_s nmap -sT "${NMAP_SWEEP[@]}" --min-hostgroup 4096 --min-parallelism 1024 \
    -oG "$OUT/nmap_sweep.txt" "$PFX" >/dev/null
nm_sweep=$(wall nmap_sweep)
timed nmap_ss_sweep lab_s nmap -sS "${NMAP_SWEEP[@]}" --min-hostgroup 4096 --min-parallelism 1024 \
    -oG "$OUT/nmap_ss_sweep.txt" "$PFX" >/dev/null
nm_ss_sweep=$(wall nmap_ss_sweep)
# nmap with its own parallelism does not finish a /16 in minutes: stopped at NMAP_DEFAULT_MAX,
# which bounds its rate from above.
ND=${NMAP_DEFAULT_MAX:-300}
timed nmap_default_sweep lab_s timeout -s INT "$ND" nmap -sT "${NMAP_SWEEP[@]}" \
    -oG "$OUT/nmap_default_sweep.txt" "$PFX" >/dev/null
nm_def_sweep=$(wall nmap_default_sweep)
nm_def_done=$(awk '/^Host:/ {print $2}' "$OUT/nmap_default_sweep.txt" | sort -u | wc -l)
mac=$(lab_d cat /sys/class/net/d0/address)
: >"$W/empty.bl"
timed zmap_sweep lab_s zmap -q -p 23 -i s0 -S 198.18.0.1 -G "$mac" --rate "$SR" --cooldown-time 2 -b "$W/empty.bl" \
    -B 1G -o "$OUT/zmap_sweep.csv" "$PFX" >/dev/null
zm_sweep=$(wall zmap_sweep)
zm_found=$(grep -c . "$OUT/zmap_sweep.csv")
rate() { div "$n_hosts" "$1" '%.0f'; }

{
    echo "### Survey: the lab (13 devices: 4 weak, 1 vulnerable, 2 infected, 1 blocklisted, 2 outside the scope)"
    echo
    echo "| tool | weak credentials found | vulnerable firmware found | infected found | wall s | CPU s |"
    echo "|---|---|---|---|---|---|"
    echo "| botscope survey | $bs_weak of 4 | $bs_vuln of 1 | $bs_inf of 2 | $bs_wall | $(cpu botscope_lab) |"
    echo "| botscope survey --syn | $bs_syn_weak of 4 | $bs_syn_vuln of 1 | $bs_syn_inf of 2 | $(wall botscope_lab_syn) | $(cpu botscope_lab_syn) |"
    echo "| nmap 7.93 -sT -sV + brute scripts | $nm_weak of 4 | $nm_vuln CVEs named | (no such check) | $nm_wall | $(cpu nmap_lab) |"
    echo
    echo "botscope/nmap wall time: $(div "$bs_wall" "$nm_wall" '%.2f')"
    echo
    echo "### Survey: sweep of $PFX (half refuse, half never answer), port 23"
    echo
    echo "| tool | wall s | CPU s | hosts/s |"
    echo "|---|---|---|---|"
    echo "| botscope survey, connect() (--rate 20000 --rate-host 1) | $bs_sweep | $(cpu botscope_sweep) | $(rate "$bs_sweep") |"
    echo "| botscope survey --syn (--rate $SR --rate-host 1; $bs_syn_closed resets) | $bs_syn | $(cpu botscope_syn) | $(rate "$bs_syn") |"
    echo "| nmap -sT -T4 --max-retries 0 --min-parallelism 1024 --min-hostgroup 4096 | $nm_sweep | $(cpu nmap_sweep) | $(rate "$nm_sweep") |"
    echo "| nmap -sT -T4 --max-retries 0 (its own parallelism; $nm_def_done of $n_hosts hosts when stopped) | $nm_def_sweep | $(cpu nmap_default_sweep) | $(div "$nm_def_done" "$nm_def_sweep" '%.0f') |"
    echo "| nmap -sS -T4 --max-retries 0 --min-parallelism 1024 --min-hostgroup 4096 | $nm_ss_sweep | $(cpu nmap_ss_sweep) | $(rate "$nm_ss_sweep") |"
    echo "| zmap 2.1.1 --rate $SR --cooldown-time 2 (SYN only; $zm_found answers) | $zm_sweep | $(cpu zmap_sweep) | $(rate "$zm_sweep") |"
    echo
    echo "botscope --syn / nmap -sT forced to 1024 parallel: $(div "$nm_sweep" "$bs_syn" '%.1f')x;" \
         "botscope --syn / zmap: $(div "$zm_sweep" "$bs_syn" '%.2f')x;" \
         "botscope connect() / nmap -sT forced: $(div "$nm_sweep" "$bs_sweep" '%.1f')x"
    echo
    echo "Load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores)."
} | tee "$OUT/results.md"
