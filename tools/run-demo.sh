#!/usr/bin/env bash
# The main job on the embedded default store (what `make run` does):
#  1. simulate a labelled world (ISPs, subscribers, IoT bots, C&C servers, a darknet);
#  2. start the live collector on 127.0.0.1 and replay the world's flow exports to it over UDP;
#  3. stop the collector with SIGTERM (it drains, decodes and flushes everything received);
#  4. query the store (top destination ports, busiest sources) and run the darknet telescope;
#  5. find the C&C servers in the store, seeded by the telescope's infected hosts, and score
#     them against the world's truth.
# Usage: tools/run-demo.sh BOTSCOPE_BINARY DATA_DIR
set -euo pipefail
bin=$(realpath "$1"); data=${2:-out/run}
port=${BS_DEMO_PORT:-9995}
rm -rf "$data"; mkdir -p "$data"
data=$(realpath "$data")

# The world is placed in the last hour so that the store's retention keeps it and sFlow
# records (stamped with their receive time: sFlow carries no clock) sit beside the rest.
start_ms=$(( ($(date +%s) - 3600) * 1000 ))
echo "== 1. simulating a world into $data/world"
"$bin" simulate --seed 1 --start "$start_ms" --out "$data/world"

echo "== 2. live collector on 127.0.0.1:$port -> embedded store $data/store"
"$bin" collect --listen "127.0.0.1:$port" --store "$data/store" 2>"$data/collect.log" &
cpid=$!
trap 'kill $cpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.1; done
"$bin" simulate --seed 1 --start "$start_ms" --out "$data/world-replay" --send "127.0.0.1:$port" --rate 20000 -q

echo "== 3. stopping the collector (SIGTERM: drain, decode, flush)"
kill -TERM $cpid; wait $cpid || { echo "collector failed:"; cat "$data/collect.log"; exit 1; }
trap - EXIT
cat "$data/collect.log"

echo "== 4. querying the store"
"$bin" store info --store "$data/store"
echo "-- top 10 destination ports by flows"
"$bin" flows --store "$data/store" -s dstport/flows -n 10
echo "-- telnet scanners and C&C-like traffic: top 10 sources of TCP/23,2323 by flows"
"$bin" flows --store "$data/store" 'proto tcp and dst port in [23 2323]' -s srcip/flows -n 10

echo "== 5. darknet telescope"
darknet=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(",".join(t["darknet"]["prefixes"]))' "$data/world/truth.json")
"$bin" telescope --read "$data/world/darknet.pcap" --darknet "$darknet" --out "$data/telescope"
infected=$(grep -c '"infected_iot":true' "$data/telescope/sources.ndjson" || true)
victims=$(wc -l <"$data/telescope/victims.ndjson")
echo "infected IoT sources: $infected; DDoS victims from backscatter: $victims"

echo "== 6. C&C detection, seeded by the telescope's infected hosts"
"$bin" detect --store "$data/store" --seeds "$data/telescope/sources.ndjson" -o table \
    | tee "$data/candidates.txt"
"$bin" detect --store "$data/store" --seeds "$data/telescope/sources.ndjson" --no-state \
    -o ndjson >"$data/candidates.ndjson" 2>/dev/null
"$bin" eval --truth "$data/world-replay/truth.json" --candidates "$data/candidates.ndjson" \
    --allow-empty | sed -n 1,6p
echo "outputs: $data"
