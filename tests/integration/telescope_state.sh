#!/usr/bin/env bash
# botscope telescope --data DIR: results in DIR/state.db (statedb schema 2), checked with the
# sqlite3 CLI against the golden capture's known facts and its sources.ndjson; re-running the
# same input leaves the same rows; --state-sources all; privacy pseudonyms; usage errors.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
command -v jq >/dev/null || skip "jq not installed"
D="$BS_SOURCE_DIR/tests/data/telescope"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
DARK=198.18.0.0/16,2001:db8:dead::/48
run() { # data-dir out-dir extra-args...
    local data=$1 out=$2
    shift 2
    "$BOTSCOPE" telescope -q --read "$D/synth_golden.pcap" --darknet "$DARK" \
        --research-scanners "$D/research.txt" --pfx2as "$D/pfx2as.txt" --geo "$D/geo.csv" \
        --out "$out" --data "$data" "$@"
}
q() { sqlite3 -batch -noheader "$W/d/state.db" "$1"; }
eq() { # sql expected message
    local got
    got=$(q "$1") || fail "$3: query failed: $1"
    [ "$got" = "$2" ] || fail "$3: expected '$2', got '$got'"
}

run "$W/d" "$W/o1" || fail "telescope --data failed"
[ -f "$W/d/state.db" ] || fail "no state.db in the --data directory"
eq "SELECT max(version) FROM schema_version" 3 "schema version"

# Infected sources (default): exactly the infected_iot lines of sources.ndjson.
want=$(jq -r 'select(.infected_iot) | .src' "$W/o1/sources.ndjson" | sort | paste -sd' ')
eq "SELECT group_concat(src, ' ') FROM (SELECT src FROM telescope_sources ORDER BY src)" \
    "$want" "infected sources"
[ "$want" = "45.1.1.1 45.1.1.2 45.1.1.3 60.1.1.5" ] || fail "golden infected set changed: $want"
eq "SELECT packets, syn_packets, ports, fingerprints, tags, scan_class, asn, cc, infected_iot,
        day_ms FROM telescope_sources WHERE src = '45.1.1.1'" \
    '40|40|[23,2323]|["mirai"]|["tcp_scan"]|horizontal|64500|BR|1|1699920000000' "Mirai bot row"
eq "SELECT first_ms || ' ' || last_ms FROM telescope_sources WHERE src = '60.1.1.5'" \
    "$(jq -r 'select(.src == "60.1.1.5") | "\(.first_ms) \(.last_ms)"' "$W/o1/sources.ndjson")" \
    "first/last seen"
eq "SELECT count(*) FROM telescope_sources, json_each(telescope_sources.fingerprints)
    WHERE json_each.value = 'mirai'" 3 "fingerprints are JSON arrays"

# Victims and intervals match the files.
eq "SELECT group_concat(victim || ':' || packets || ':' || first_ms || ':' || ports, ' ')
    FROM (SELECT * FROM telescope_victims ORDER BY victim)" \
    "$(jq -r '"\(.victim):\(.packets):\(.first_ms):\(.ports | map(tostring) | join(",") | "[\(.)]")"' \
        "$W/o1/victims.ndjson" | sort | paste -sd' ')" "victims"
eq "SELECT count(*) FROM telescope_victims" 2 "victim count"
for r in 60:intervals 300:intervals_5m 3600:intervals_1h 86400:intervals_1d; do
    res=${r%%:*} f=${r#*:}
    eq "SELECT group_concat(start_ms || ':' || packets || ':' || unique_sources, ' ')
        FROM (SELECT * FROM telescope_intervals WHERE resolution_s = $res ORDER BY start_ms)" \
        "$(jq -r '"\(.start_ms):\(.packets):\(.unique_sources)"' "$W/o1/$f.ndjson" | paste -sd' ')" \
        "intervals at ${res}s"
done
eq "SELECT sum(json_extract(tags, '$.tcp_scan')) FROM telescope_intervals WHERE resolution_s = 60" \
    "$(jq -s 'map(.tags.tcp_scan) | add' "$W/o1/intervals.ndjson")" "interval tag counts"

# Provenance row.
eq "SELECT status, mode, packets_read, sources, victims, intervals, inputs LIKE '%synth_golden.pcap%',
        darknet, finished_ms >= started_ms FROM telescope_runs" \
    "ok|offline|530|4|2|15|1|$DARK|1" "run row"

# Re-running the same input leaves the same rows (only a run row is added).
dump() { q "SELECT * FROM telescope_sources ORDER BY src, day_ms;
            SELECT * FROM telescope_victims ORDER BY victim, first_ms;
            SELECT * FROM telescope_intervals ORDER BY resolution_s, start_ms" | sed 's/|[0-9]*$//'; }
dump >"$W/before"
run "$W/d" "$W/o2" || fail "second run failed"
dump >"$W/after"
diff -u "$W/before" "$W/after" >&2 || fail "re-run changed the rows"
eq "SELECT count(*), count(DISTINCT run_id) FROM telescope_sources" "4|1" "rows re-tagged by the new run"
eq "SELECT group_concat(id || status, ' ') FROM telescope_runs" "1ok 2ok" "two run rows"

# --state-sources all: every source of sources.ndjson, same packets.
run "$W/all" "$W/o3" --state-sources all || fail "--state-sources all failed"
sqlite3 -batch "$W/all/state.db" "SELECT src || ' ' || packets || ' ' || infected_iot FROM telescope_sources ORDER BY src" \
    >"$W/all.txt"
jq -r '"\(.src) \(.packets) \(if .infected_iot then 1 else 0 end)"' "$W/o3/sources.ndjson" | sort >"$W/nd.txt"
sort "$W/all.txt" | diff -u "$W/nd.txt" - >&2 || fail "--state-sources all differs from sources.ndjson"
[ "$(wc -l <"$W/nd.txt")" -gt 20 ] || fail "too few sources in the golden run"

# Privacy: the database holds the same pseudonyms as the files, never the addresses.
run "$W/p" "$W/o4" --privacy --privacy-key k1 || fail "--privacy run failed"
sqlite3 -batch "$W/p/state.db" "SELECT src FROM telescope_sources ORDER BY src" >"$W/p.txt"
jq -r 'select(.infected_iot) | .src' "$W/o4/sources.ndjson" | sort | diff -u - "$W/p.txt" >&2 \
    || fail "privacy pseudonyms differ"
grep -q '^h:' "$W/p.txt" || fail "no pseudonyms in the privacy run"
[ "$(sqlite3 "$W/p/state.db" "SELECT (SELECT count(*) FROM telescope_sources WHERE src NOT LIKE 'h:%')
      + (SELECT count(*) FROM telescope_victims WHERE victim NOT LIKE 'h:%')")" = 0 ] \
    || fail "addresses leaked in privacy mode"
[ "$(sqlite3 "$W/p/state.db" "SELECT count(*) FROM telescope_victims")" = 2 ] || fail "privacy victims"

# Errors: bad --state-sources is a usage error; an unusable --data directory a runtime one.
set +e
run "$W/x" "$W/o5" --state-sources some 2>/dev/null
expect_rc 2 $? "--state-sources some"
: >"$W/file"
run "$W/file" "$W/o6" 2>"$W/err"
expect_rc 1 $? "--data on a regular file"
set -e
grep -q -- "--data" "$W/err" || fail "error does not name --data: $(cat "$W/err")"
pass
