#!/usr/bin/env bash
# botscope intel import|list|lookup and botscope export on a temporary data directory:
# idempotent re-import, all-or-nothing on a malformed file (exit 2, file and line named), the
# lead time of a listed endpoint, and blocklist/CSV exports of candidate records put into the
# state database.
set -u
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
fx=${BS_SOURCE_DIR:?}/tests/data/intel
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
s=$d/data
n=0
count() { "$BOTSCOPE" intel list --store "$s" -o ndjson | wc -l; }

"$BOTSCOPE" intel import --format threatfox-csv "$fx/threatfox.csv" --store "$s" >"$d/out" ||
    fail "import threatfox-csv exit $?"
grep -q "3 indicators stored (threatfox-csv), 1 without an address skipped" "$d/out" ||
    fail "import summary: $(cat "$d/out")"
"$BOTSCOPE" intel import --format threatfox-json "$fx/threatfox.json" --data "$s" >/dev/null ||
    fail "import threatfox-json exit $?"
"$BOTSCOPE" intel import --format feodo-csv - --store "$s" <"$fx/feodo.csv" >/dev/null ||
    fail "import feodo from stdin exit $?"
"$BOTSCOPE" intel import --format list "$fx/list.txt" --store "$s" --first-seen 2018-12-01 \
    >/dev/null || fail "import list exit $?"
[ "$(count)" -eq 9 ] || fail "9 indicators expected, got $(count)"
n=$((n + 1))
# Importing everything again changes nothing.
for f in threatfox-csv:threatfox.csv threatfox-json:threatfox.json feodo-csv:feodo.csv list:list.txt; do
    "$BOTSCOPE" intel import --format "${f%%:*}" "$fx/${f#*:}" --store "$s" --first-seen 2018-12-05 \
        >/dev/null || fail "re-import $f"
done
"$BOTSCOPE" intel list --store "$s" -o ndjson >"$d/list1"
[ "$(wc -l <"$d/list1")" -eq 9 ] || fail "re-import added records"
# The plain list kept its first first-seen time.
[ "$(jq -r 'select(.indicator=="192.0.2.10") | .first_ms' "$d/list1")" = 1543622400000 ] ||
    fail "list first_ms changed on re-import"
n=$((n + 1))

# Malformed files: exit 2, file and line in the message, nothing stored.
bad() { # bad FORMAT WORDS CONTENT
    printf '%b' "$3" >"$d/bad.$1"
    "$BOTSCOPE" intel import --format "$1" "$d/bad.$1" --store "$s" >/dev/null 2>"$d/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "bad $1: exit $rc"
    grep -q -- "bad.$1: $2" "$d/err" || fail "bad $1: '$(cat "$d/err")' lacks '$2'"
    grep -q "nothing imported" "$d/err" || fail "bad $1: does not say nothing was imported"
    [ "$(count)" -eq 9 ] || fail "bad $1: something was imported"
    n=$((n + 1))
}
bad list "line 3: '192.0.2.300' is not an address" '198.51.100.1\n198.51.100.2\n192.0.2.300\n'
bad feodo-csv "line 2: dst_port" '"2018-12-18 07:30:05","203.0.113.1","443","online","",""\n"2018-12-18 07:30:05","203.0.113.2","http","online","",""\n'
bad threatfox-csv "line 1: first_seen_utc" '"last week","1","203.0.113.3:80","ip:port"\n'
bad threatfox-json "line 1: not valid JSON" '{"1": [ {"ioc_value": "203.0.113.4:80"'
"$BOTSCOPE" intel import --format stix "$fx/list.txt" --store "$s" 2>/dev/null
[ $? -eq 2 ] || fail "unknown intel format must exit 2"

# Lookup: ThreatFox listed the Mirai C&C at 16:00; found at 15:10 is 50 minutes ahead.
"$BOTSCOPE" intel lookup --store "$s" 185.244.25.235:6667 --detected "2018-12-21 15:10" >"$d/l" ||
    fail "lookup exit $?"
jq -e '.listed and .source=="threatfox" and .lead_ms==3000000 and .endpoint' "$d/l" >/dev/null ||
    fail "lookup: $(cat "$d/l")"
"$BOTSCOPE" intel lookup --store "$s" 203.0.113.250 | jq -e '.listed == false' >/dev/null ||
    fail "unlisted lookup"
n=$((n + 1))

# Export: candidate records as detect keeps them (kind candidate, body = the detect line).
put() { # put ADDR PORT PROTO SCORE FIRST LAST INTEL_JSON
    local body
    body=$(jq -cn --arg a "$1" --argjson p "$2" --argjson pr "$3" --argjson s "$4" \
        --argjson f "$5" --argjson l "$6" --argjson i "$7" \
        '{addr:$a,port:$p,proto:$pr,score:$s,first_ms:$f,last_ms:$l,clients:3,seed_clients:2,evidence:{},intel:$i}')
    sqlite3 "$s/state.db" "INSERT INTO records(kind,key,addr,first_ms,last_ms,score,body,updated_ms)
        VALUES('candidate','$1|$2|$3','$1',$5,$6,$4,'$body',0);" || fail "sqlite insert"
}
put 198.51.100.7 6667 6 12.5 1545404132353 1545490213942 '{"listed":true,"source":"threatfox","first_listed_ms":1545408000000,"lead_ms":3000000}'
put 198.51.100.7 23 6 8 1545404132353 1545490213942 '{"listed":false}'
put 192.0.2.44 0 0 4 1545404132353 1545404999999 '{"listed":false}'
put 203.0.113.9 1791 6 1.5 1545404132353 1545490213942 '{"listed":true,"lead_ms":-5000}'
"$BOTSCOPE" export --format blocklist --store "$s" --min-score 4 >"$d/bl" || fail "export exit $?"
grep -q '^# botscope C&C blocklist, generated .* UTC$' "$d/bl" || fail "blocklist header"
grep -q '^# candidates with score >= 4; 2 addresses$' "$d/bl" || fail "blocklist threshold line"
[ "$(grep -v '^#' "$d/bl" | tr '\n' ' ')" = "192.0.2.44 198.51.100.7 " ] ||
    fail "blocklist: $(cat "$d/bl")"
n=$((n + 1))
"$BOTSCOPE" export --format blocklist --store "$s" --since "2018-12-22" | grep -v '^#' |
    tr '\n' ' ' >"$d/bl2"
[ "$(cat "$d/bl2")" = "198.51.100.7 203.0.113.9 " ] || fail "since: $(cat "$d/bl2")"
"$BOTSCOPE" export --format csv --store "$s" >"$d/csv" || fail "csv exit $?"
[ "$(head -1 "$d/csv")" = "addr,port,proto,score,first_ms,last_ms,clients,seed_clients,listed,lead_ms" ] ||
    fail "csv header"
[ "$(sed -n 2p "$d/csv")" = "198.51.100.7,6667,6,12.5,1545404132353,1545490213942,3,2,true,3000000" ] ||
    fail "csv first row: $(sed -n 2p "$d/csv")"
[ "$(tail -1 "$d/csv")" = "203.0.113.9,1791,6,1.5,1545404132353,1545490213942,3,2,true,-5000" ] ||
    fail "csv last row: $(tail -1 "$d/csv")"
[ "$(wc -l <"$d/csv")" -eq 5 ] || fail "csv rows"
n=$((n + 1))
for f in stix misp; do
    "$BOTSCOPE" export --format $f --store "$s" >/dev/null 2>"$d/err"
    [ $? -eq 2 ] && grep -q "not yet" "$d/err" || fail "export $f must say not yet and exit 2"
done
"$BOTSCOPE" export --format csv --store "$s" --since tomorrowish 2>/dev/null
[ $? -eq 2 ] || fail "bad --since must exit 2"
n=$((n + 1))
pass $n
