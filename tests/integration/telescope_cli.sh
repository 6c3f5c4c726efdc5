#!/usr/bin/env bash
# botscope telescope command line: usage errors, inputs (directory in time order, gzip,
# stdin), CSV, privacy, --bogons replacement, --fingerprints, configuration file.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
D="$BS_SOURCE_DIR/tests/data/telescope"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
G="$D/synth_golden.pcap"

rc=0; "$BOTSCOPE" telescope --read "$G" --out "$W/x" 2>/dev/null || rc=$?
expect_rc 2 $rc "missing --darknet"
rc=0; "$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/33 --out "$W/x" 2>/dev/null || rc=$?
expect_rc 2 $rc "bad prefix"
rc=0; "$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 2>/dev/null || rc=$?
expect_rc 2 $rc "missing --out"
rc=0; "$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/x" --fingerprints mirai,bogus 2>/dev/null || rc=$?
expect_rc 2 $rc "unknown fingerprint"
rc=0; "$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/x" --interval 7s 2>/dev/null || rc=$?
expect_rc 2 $rc "interval not dividing a day"
rc=0; "$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/x" --privacy 2>/dev/null || rc=$?
expect_rc 2 $rc "privacy without key"
rc=0; "$BOTSCOPE" telescope --read "$W/missing.pcap" --darknet 198.18.0.0/16 --out "$W/x" 2>/dev/null || rc=$?
expect_rc 1 $rc "unreadable input"
printf '[telescope]\nno_such_key = 1\n' > "$W/bad.conf"
rc=0; err=$("$BOTSCOPE" telescope --config "$W/bad.conf" --read "$G" --darknet 198.18.0.0/16 --out "$W/x" 2>&1) || rc=$?
expect_rc 2 $rc "bad config key"
echo "$err" | grep -q "bad.conf:2" || fail "config error does not name file and line: $err"
"$BOTSCOPE" telescope --help | grep -q "infected_iot" || fail "--help"

# Configuration file supplies the darknet and the interval; output equals the flag form.
printf '[telescope]\ndarknet = ["198.18.0.0/16"]\ninterval = "5m"\n' > "$W/t.conf"
"$BOTSCOPE" telescope --config "$W/t.conf" --read "$G" --out "$W/c" || fail "config run"
[ "$(jq -s "length" "$W/c/intervals.ndjson")" -eq 3 ] || fail "5m interval from config"
[ -e "$W/c/intervals_5m.ndjson" ] && fail "no 5m roll-up when the interval is 5m"
jq -e '.resolution_s == 300' "$W/c/intervals.ndjson" >/dev/null || fail "resolution"

# Directory input: files read in capture-time order whatever their names; .gz and stdin.
mkdir "$W/dir"
cp "$D/nmap.pcap" "$W/dir/a.pcap"          # captured last
gzip -c "$D/zmap.pcap" > "$W/dir/c.pcap.gz" # captured first
cp "$D/masscan.pcap" "$W/dir/b.pcap"
echo "not a capture" > "$W/dir/notes.txt"
"$BOTSCOPE" telescope --read "$W/dir" --darknet 198.18.7.0/24 --out "$W/d" || fail "directory run"
jq -e '[.inputs[].path | split("/") | last] == ["c.pcap.gz", "b.pcap", "a.pcap"]' "$W/d/provenance.json" \
    >/dev/null || fail "directory order: $(jq -c '[.inputs[].path]' "$W/d/provenance.json")"
jq -e '.counters.late_packets == 0 and .counters.darknet_packets == 224' "$W/d/provenance.json" >/dev/null \
    || fail "directory counts"
"$BOTSCOPE" telescope --read - --darknet 198.18.0.0/16 --out "$W/s" < "$G" || fail "stdin run"
[ "$(jq -s 'map(.packets) | add' "$W/s/intervals.ndjson")" -eq 505 ] || fail "stdin packets"

# CSV alongside NDJSON.
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/v" --format csv || fail "csv run"
head -1 "$W/v/sources.csv" | grep -q '^day_ms,src,packets' || fail "sources.csv header"
[ "$(($(wc -l < "$W/v/sources.csv") - 1))" -eq "$(wc -l < "$W/v/sources.ndjson")" ] || fail "sources.csv rows"
[ "$(($(wc -l < "$W/v/victims.csv") - 1))" -eq 2 ] || fail "victims.csv rows"
[ "$(($(wc -l < "$W/v/intervals.csv") - 1))" -eq 10 ] || fail "intervals.csv rows"
grep -q '^"*45.1.1.1' "$W/v/sources.csv" || grep -q ',45.1.1.1,' "$W/v/sources.csv" || fail "csv address"

# Privacy: no address in clear, stable pseudonyms for one key.
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/p1" --privacy --privacy-key k1 || fail "privacy"
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/p2" --privacy --privacy-key k1 || fail "privacy"
grep -Eq '"(src|victim)":"[0-9]' "$W/p1/sources.ndjson" "$W/p1/victims.ndjson" && fail "address in clear"
[ "$(jq -s 'map(select(.src | startswith("h:") | not)) | length' "$W/p1/sources.ndjson")" -eq 0 ] || fail "non-hashed src"
cmp -s "$W/p1/sources.ndjson" "$W/p2/sources.ndjson" || fail "pseudonyms not stable for one key"
grep -q '"privacy_key"\|k1' "$W/p1/provenance.json" && fail "provenance leaks the key"

# --bogons replaces the built-in list: 10.1.2.3 becomes an ordinary (infected) source.
: > "$W/none.txt"
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/b" --bogons "$W/none.txt" || fail "bogons"
jq -s -e 'map(select(.src == "10.1.2.3"))[0] | (.bogon | not) and .infected_iot' "$W/b/sources.ndjson" >/dev/null \
    || fail "--bogons did not replace the list"
echo "45.1.1.0/24" > "$W/b.txt"
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/b2" --bogons "$W/b.txt" || fail "bogons2"
jq -s -e 'map(select(.src == "45.1.1.1"))[0] | .bogon and (.infected_iot | not)' "$W/b2/sources.ndjson" >/dev/null \
    || fail "--bogons prefix not applied"

# --fingerprints selects the rules.
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/f" --fingerprints zmap || fail "fps"
[ "$(jq -s '[.[].fingerprints[]] | unique' "$W/f/sources.ndjson" | jq -c .)" = '["zmap"]' ] || fail "--fingerprints zmap"
"$BOTSCOPE" telescope --read "$G" --darknet 198.18.0.0/16 --out "$W/n" --fingerprints none || fail "fps none"
[ "$(jq -s '[.[].fingerprints[]] | length' "$W/n/sources.ndjson")" -eq 0 ] || fail "--fingerprints none"
pass
