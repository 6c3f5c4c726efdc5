#!/usr/bin/env bash
# botscope detect end to end, as an operator runs it: a simulated world's exports through the
# collector into a store, its darknet through the telescope, the telescope's infected sources
# as seeds, detect, and eval against the world's truth (floors: precision and recall >= 0.9);
# the real IoT-23 Mirai capture with its infected host as seed; the state database (candidates,
# score history, graph edges), `botscope graph`, intel lead time, exports; bad input.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
n=0

"$BOTSCOPE" simulate --seed 3 --out "$d/w" >/dev/null || fail "simulate exit $?"
"$BOTSCOPE" collect --read "$d/w/exports.pcap" --store "$d/w/store" >/dev/null 2>&1 ||
    fail "collect exit $?"
"$BOTSCOPE" telescope --read "$d/w/darknet.pcap" --darknet 25.240.0.0/20 --out "$d/w/tel" \
    >/dev/null 2>&1 || fail "telescope exit $?"
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/w/tel/sources.ndjson" -o ndjson \
    >"$d/cand.ndjson" 2>"$d/detect.err" || fail "detect exit $?: $(cat "$d/detect.err")"
grep -q "candidates; sampling 1:1" "$d/detect.err" || fail "summary: $(cat "$d/detect.err")"
"$BOTSCOPE" eval --truth "$d/w/truth.json" --candidates "$d/cand.ndjson" -o json >"$d/e.json" ||
    fail "eval exit $?"
jq -e '.precision >= 0.9 and .recall >= 0.9' "$d/e.json" >/dev/null ||
    fail "world floors: $(jq -c '[.precision,.recall,.tp,.fp,.missed_count]' "$d/e.json")"
n=$((n + 1))
# Every line has the contract keys and an evidence whose contributions sum to the score.
jq -e -s 'length > 0 and all(.[]; has("addr") and has("port") and has("proto") and has("score")
          and has("first_ms") and has("last_ms") and has("clients") and has("seed_clients")
          and ((.evidence.contributions | add) - .score | if . < 0 then -. else . end) < 0.01)' "$d/cand.ndjson" \
    >/dev/null || fail "candidate lines: $(head -c 600 "$d/cand.ndjson")"
# A resolver and the vendor clouds are never candidates.
jq -e -s 'all(.[]; .port != 53 and .port != 123 and (.addr | startswith("25.1.5.") | not))' \
    "$d/cand.ndjson" >/dev/null || fail "benign service reported"
n=$((n + 1))

# The state database got the candidates, their score history and the graph.
db="$d/w/store/state.db"
[ "$(sqlite3 "$db" "SELECT count(*) FROM candidates")" = "$(wc -l <"$d/cand.ndjson")" ] ||
    fail "candidates in state.db"
[ "$(sqlite3 "$db" "SELECT count(*) FROM records WHERE kind='evidence'")" -ge 1 ] ||
    fail "score history"
"$BOTSCOPE" graph --store "$d/w/store" >"$d/g.ndjson" 2>/dev/null || fail "graph exit $?"
[ "$(sqlite3 "$db" "SELECT count(*) FROM records WHERE kind='edge'")" = "$(wc -l <"$d/g.ndjson")" ] ||
    fail "graph lines"
jq -e -s 'length > 0 and all(.[]; has("client") and has("server") and .flows >= 1)' \
    "$d/g.ndjson" >/dev/null || fail "graph edges"
"$BOTSCOPE" graph --store "$d/w/store" --output dot 2>/dev/null | grep -q '^digraph botscope' ||
    fail "graph dot"
# A second run appends score history, does not duplicate candidates.
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/w/tel/sources.ndjson" -o ndjson \
    >/dev/null 2>&1 || fail "second detect"
[ "$(sqlite3 "$db" "SELECT count(*) FROM candidates")" = "$(wc -l <"$d/cand.ndjson")" ] ||
    fail "candidates duplicated"
n=$((n + 1))

# Public listing an hour after the world's start: every candidate found before is early.
top=$(jq -r -s 'sort_by(-.score)[0].addr' "$d/cand.ndjson")
printf '%s\n' "$top" >"$d/list.txt"
"$BOTSCOPE" intel import --format list "$d/list.txt" --store "$d/w/store" >/dev/null 2>&1 ||
    fail "intel import exit $?"
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/w/tel/sources.ndjson" -o ndjson \
    >"$d/cand2.ndjson" 2>/dev/null || fail "detect with intel"
jq -e -s --arg a "$top" 'map(select(.addr == $a))[0].intel.listed == true and
    all(.[]; .intel | has("listed"))' "$d/cand2.ndjson" >/dev/null ||
    fail "intel annotation: $(head -c 400 "$d/cand2.ndjson")"
"$BOTSCOPE" export --format blocklist --store "$d/w/store" >"$d/block.txt" 2>/dev/null ||
    fail "export exit $?"
grep -qx "$top" "$d/block.txt" || fail "blocklist lacks $top"
n=$((n + 1))

# The real Mirai capture (IoT-23 34-1) with its infected host as seed: the C&C is the top
# candidate, and the NTP and DNS servers it also polled all day are not reported.
c2=${BS_SOURCE_DIR:?}/../shared/datasets/c2-dev
if [ -f "$c2/CTU-Malware-Capture-34-1-labeled.csv" ]; then
    "$BOTSCOPE" import --format zeek "$c2/CTU-Malware-Capture-34-1-labeled.csv" \
        --store "$d/m" >/dev/null 2>&1 || fail "import exit $?"
    echo 192.168.1.195 >"$d/seed.txt"
    "$BOTSCOPE" detect --store "$d/m" --seeds "$d/seed.txt" --no-state -o ndjson \
        >"$d/m.ndjson" 2>/dev/null || fail "detect mirai exit $?"
    [ "$(jq -r -s 'map("\(.addr):\(.port)") | join(" ")' "$d/m.ndjson")" = "185.244.25.235:6667" ] ||
        fail "mirai candidates: $(jq -c -s 'map([.addr,.port,.score])' "$d/m.ndjson")"
    if [ -f "$d/m/state.db" ]; then
        [ "$(sqlite3 "$d/m/state.db" "SELECT count(*) FROM records" 2>/dev/null || echo 0)" = 0 ] ||
            fail "--no-state wrote records"
    fi
    n=$((n + 1))
fi

# Bad input: exit 2 with the file and line named; an empty store is refused.
printf '192.0.2.1\nnot-an-address\n' >"$d/bad.txt"
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/bad.txt" >/dev/null 2>"$d/err"
expect_rc 2 $? "malformed seeds"
grep -q "bad.txt:2:" "$d/err" || fail "seeds error: $(cat "$d/err")"
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/nonexistent" >/dev/null 2>&1
expect_rc 2 $? "missing seeds file"
printf '192.0.2.0/24 70000\n' >"$d/allow.txt"
"$BOTSCOPE" detect --store "$d/w/store" --seeds "$d/seed.txt" --allow "$d/allow.txt" \
    >/dev/null 2>"$d/err"
expect_rc 2 $? "malformed allow-list"
mkdir -p "$d/empty"
"$BOTSCOPE" detect --store "$d/empty" --seeds "$d/seed.txt" >/dev/null 2>"$d/err"
expect_rc 2 $? "empty store"
grep -q "no flows" "$d/err" || fail "empty store message: $(cat "$d/err")"
"$BOTSCOPE" detect --store "$d/w/store" --output xml >/dev/null 2>&1
expect_rc 2 $? "bad --output"
"$BOTSCOPE" detect --store "$d/w/store" --threshold abc >/dev/null 2>&1
expect_rc 2 $? "bad --threshold"
n=$((n + 1))
pass $n
