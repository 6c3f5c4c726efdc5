#!/usr/bin/env bash
# End to end with the simulator: `botscope simulate` writes a darknet capture and its ground
# truth; `botscope telescope` must find every spoofed-flood victim from the backscatter (with
# the attacked port), recognise the research scanners' tools without calling them infected,
# and list the infected IoT hosts with high precision and recall.
. "$BS_SOURCE_DIR/tests/integration/lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$BOTSCOPE" simulate --seed 7 --out "$W/sim" --duration 30m >/dev/null 2>&1 || skip "botscope simulate unavailable"
[ -s "$W/sim/darknet.pcap" ] && [ -s "$W/sim/truth.json" ] || skip "simulator wrote no darknet capture"
DARK=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["darknet"]["prefixes"]))' "$W/sim/truth.json")
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address_plan"]["research_scanners"])' \
    "$W/sim/truth.json" > "$W/research.txt"
"$BOTSCOPE" telescope --read "$W/sim/darknet.pcap" --darknet "$DARK" --research-scanners "$W/research.txt" \
    --out "$W/t" || fail "telescope on the simulated darknet"
python3 - "$W/sim/truth.json" "$W/t" <<'PY' || fail "telescope output does not match the simulator's truth"
import json, sys
truth = json.load(open(sys.argv[1]))
out = sys.argv[2]
src = {s["src"]: s for s in map(json.loads, open(out + "/sources.ndjson"))}
vic = {v["victim"]: v for v in map(json.loads, open(out + "/victims.ndjson"))}
ok = True
def bad(msg):
    global ok
    ok = False
    print("FAIL:", msg)
for d in truth["ddos_attacks"]:
    if not d.get("backscatter"):
        continue
    v = vic.get(d["victim"])
    if not v:
        bad("victim %s (%s) not found" % (d["victim"], d["type"]))
    elif d.get("port") and d["port"] not in v["ports"]:
        bad("victim %s: port %s not in %s" % (d["victim"], d["port"], v["ports"]))
for r in truth["research_scanners"]:
    s = src.get(r["addr"])
    if not s:
        bad("research scanner %s unseen" % r["addr"])
    elif r["tool"] not in s["fingerprints"] or not s["research"] or s["infected_iot"]:
        bad("research scanner %s (%s): %s" % (r["addr"], r["tool"], s))
infected = {i["addr"] for i in truth["infections"]} | {i["addr"] for i in truth["external_infected"]}
mirai = {i["addr"] for i in truth["infections"] + truth["external_infected"] if i["family"] == "mirai"}
listed = {a for a, s in src.items() if s["infected_iot"]}
seen_mirai = mirai & set(src)
found = seen_mirai & listed
if len(found) < len(seen_mirai):
    bad("mirai hosts seen but not listed: %s" % sorted(seen_mirai - found)[:5])
for a in seen_mirai:
    if "mirai" not in src[a]["fingerprints"]:
        bad("mirai host %s without the mirai fingerprint" % a)
precision = len(listed & infected) / max(1, len(listed))
seen_inf = infected & set(src)
recall = len(listed & seen_inf) / max(1, len(seen_inf))
print("infected_iot: %d listed, precision %.3f, recall %.3f (of %d seen)" % (len(listed), precision, recall, len(seen_inf)))
if precision < 0.95:
    bad("precision %.3f < 0.95" % precision)
if recall < 0.8:
    bad("recall %.3f < 0.8" % recall)
sys.exit(0 if ok else 1)
PY
pass
