#!/usr/bin/env bash
# botscope eval against every truth format it reads: the c2-dev captures (IoT-23 CSV, Zeek TSV
# and their truth.json), a fresh simulated world's truth.json, and bad input (exit 2 with the
# file and line named).
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
c2=${BS_SOURCE_DIR:?}/../shared/datasets/c2-dev
[ -f "$c2/CTU-Malware-Capture-34-1-labeled.csv" ] || skip "c2-dev datasets not present"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
n=0

# The Mirai C&C, found 14m27.647s after its first flow, plus one wrong candidate.
cat >"$d/c.ndjson" <<'X'
{"addr":"185.244.25.235","port":6667,"proto":6,"score":12.5,"first_ms":1545404132353,"last_ms":1545490213942,"detected_ms":1545405000000,"clients":1,"seed_clients":1,"evidence":{}}
{"addr":"192.0.2.53","port":53,"proto":17,"score":2.0,"last_ms":1545490213942}
X
for truth in "$c2/CTU-Malware-Capture-34-1-labeled.csv" "$c2/truth.json"; do
    "$BOTSCOPE" eval --truth "$truth" --candidates "$d/c.ndjson" -o json >"$d/r.json" ||
        fail "eval $truth: exit $?"
    [ "$(jq -c '[.precision,.recall,.f1,.tp,.fp,.delay.median_ms]' "$d/r.json")" = \
      '[0.5,1,0.666667,1,1,867647]' ] || fail "eval $truth: $(head -c 400 "$d/r.json")"
    n=$((n + 1))
done
# --min-score drops the wrong one; stdin is the default input.
"$BOTSCOPE" eval --truth "$c2/CTU-Malware-Capture-34-1-labeled.csv" --min-score 5 -o json \
    <"$d/c.ndjson" >"$d/r.json" || fail "eval stdin exit $?"
[ "$(jq -c '[.precision,.recall,(.days|length),.days[1].found]' "$d/r.json")" = '[1,1,2,1]' ] ||
    fail "min-score: $(head -c 300 "$d/r.json")"
n=$((n + 1))
# A benign capture: every candidate is a false positive; a negative scenario by name.
"$BOTSCOPE" eval --truth "$c2/CTU-Normal-42-day2.conn.log.labeled" -o json <"$d/c.ndjson" \
    >"$d/r.json" || fail "eval zeek tsv exit $?"
[ "$(jq -c '[.precision,.endpoints,.fp]' "$d/r.json")" = '[0,0,2]' ] || fail "negative capture"
"$BOTSCOPE" eval --truth "$c2/truth.json" --scenario iot23-honeypot-5-1-amazon-echo \
    --allow-empty --candidates /dev/null -o json >"$d/r.json" || fail "empty allowed exit $?"
[ "$(jq -c '[.precision,.recall,.endpoints]' "$d/r.json")" = '[1,1,0]' ] || fail "empty scenario"
n=$((n + 1))
# The table names the endpoint and its delay.
"$BOTSCOPE" eval --truth "$c2/CTU-Malware-Capture-34-1-labeled.csv" <"$d/c.ndjson" >"$d/t.txt" ||
    fail "table exit $?"
grep -q "found   185.244.25.235:6667/6 .*delay 14m27.647s" "$d/t.txt" || fail "table: $(cat "$d/t.txt")"
n=$((n + 1))

# A simulated world: every C&C address as a candidate, detected at its first activity plus a
# minute, plus the loader (related, not counted) and one stranger.
"$BOTSCOPE" simulate --seed 7 --duration 30m --out "$d/sim" -q >/dev/null || fail "simulate exit $?"
jq -c '.c2_servers[] | .port as $p | .loader as $l | (.addresses[] | select((.bots|length)>0) |
        {addr, port: $p, proto: 6, score: 10, last_ms: (.last_ms), detected_ms: (.first_ms + 60000)}),
       {addr: $l.addr, port: 80, proto: 6, score: 3, last_ms: 1}' "$d/sim/truth.json" >"$d/sim.ndjson"
echo '{"addr":"4.0.0.1","port":443,"proto":6,"score":1,"last_ms":1767225600000}' >>"$d/sim.ndjson"
"$BOTSCOPE" eval --truth "$d/sim/truth.json" --candidates "$d/sim.ndjson" -o json >"$d/r.json" ||
    fail "eval sim exit $?"
eps=$(jq '[.c2_servers[].addresses[] | select((.bots|length)>0)] | length' "$d/sim/truth.json")
[ "$(jq -c "[.recall, .tp, .fp, .related_count, .endpoints]" "$d/r.json")" = \
  "[1,$eps,1,$(jq '[.c2_servers[]] | length' "$d/sim/truth.json"),$eps]" ] ||
    fail "sim: $(jq -c '[.recall,.tp,.fp,.related_count,.endpoints]' "$d/r.json") eps $eps"
# Strict mode counts the loaders as wrong.
"$BOTSCOPE" eval --truth "$d/sim/truth.json" --candidates "$d/sim.ndjson" --strict -o json |
    jq -e '.related_count == 0 and .fp > 1' >/dev/null || fail "strict"
n=$((n + 1))

# Bad input: exit 2, and the message names the file (and line).
expect_fail() { # expect_fail WORDS ARGS...
    local words=$1; shift
    "$BOTSCOPE" eval "$@" >/dev/null 2>"$d/err"; local rc=$?
    [ $rc -eq 2 ] || fail "eval $*: exit $rc, want 2"
    grep -q -- "$words" "$d/err" || fail "eval $*: message '$(cat "$d/err")' lacks '$words'"
    n=$((n + 1))
}
printf 'hello\nworld\n' >"$d/unknown.txt"
expect_fail "unknown.txt: line 1: unknown truth format" --truth "$d/unknown.txt" --candidates "$d/c.ndjson"
printf 'ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n1.5,10.0.0.1,192.0.2.1,80,tcp,Malicious,C&C\n1.6,10.0.0.1\n' >"$d/short.csv"
expect_fail "short.csv: line 3: 2 fields" --truth "$d/short.csv" --candidates "$d/c.ndjson"
: >"$d/empty.ndjson"
expect_fail "empty.ndjson: no candidate lines" --truth "$c2/truth.json" --candidates "$d/empty.ndjson"
printf '{"addr":"192.0.2.1","port":1,"proto":6,"score":1,"last_ms":1}\n{"addr":"x"}\n' >"$d/badc.ndjson"
expect_fail "badc.ndjson: line 2: \"addr\"" --truth "$c2/truth.json" --candidates "$d/badc.ndjson"
expect_fail "(stdin): line 1: not JSON" --truth "$c2/truth.json" <<<'oops'
expect_fail "no scenario named 'nope'" --truth "$c2/truth.json" --scenario nope --candidates "$d/c.ndjson"
expect_fail "nonexistent" --truth "$d/nonexistent.json" --candidates "$d/c.ndjson"
expect_fail "--truth FILE is required" --candidates "$d/c.ndjson"
expect_fail "--output" --truth "$c2/truth.json" -o xml
pass $n
