#!/usr/bin/env bash
# Live end to end: `botscope simulate --send` paces the export datagrams to a loopback
# `botscope collect --listen`, which decodes exactly the records the simulator reports, from
# every exporter.
set -u
. "$(dirname "$0")/lib.sh"
d=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$d"' EXIT
port=$(python3 -B -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The simulated world starts on 2026-01-01, not now: no skew limit for this replay.
"$BOTSCOPE" collect --listen "127.0.0.1:$port" --output ndjson --max-time-skew 0 >"$d/flows.ndjson" 2>"$d/collect.err" &
pid=$!
sleep 1
kill -0 "$pid" 2>/dev/null || fail "collector did not start: $(cat "$d/collect.err")"
"$BOTSCOPE" simulate --seed 8 --duration 5m --out "$d/o" --send "127.0.0.1:$port" --rate 5000 -q ||
    fail "simulate --send exit $?"
sleep 1
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" -eq 0 ] || fail "collector exit $rc: $(cat "$d/collect.err")"
python3 -B - "$d/o/truth.json" "$d/flows.ndjson" <<'PY' || fail "live records differ from the simulator's"
import json, sys
truth = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
want = truth["outputs"]["exports"]["flow_records"]
assert len(recs) == want, "collector decoded %d records, simulator sent %d" % (len(recs), want)
per = {}
for r in recs:
    per[r["exporter"]] = per.get(r["exporter"], 0) + 1
counts = sorted(e["flow_records"] for e in truth["exporters"])
assert sorted(per.values()) == counts, "per-exporter counts %s vs %s" % (sorted(per.values()), counts)
assert all(a.startswith("127.0.1.") for a in per), "exporter addresses %s" % sorted(per)
PY
pass
