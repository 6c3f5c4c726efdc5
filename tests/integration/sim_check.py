#!/usr/bin/env python3
"""sim_check.py - checks a simulator run's ground truth against what the decoders saw.

usage: sim_check.py TRUTH FLOWS_NDJSON DARKNET_TSV [TELESCOPE_DIR]

FLOWS_NDJSON is `botscope collect --read exports.pcap --output ndjson`; DARKNET_TSV is
`tshark -r darknet.pcap -T fields -e frame.time_epoch -e ip.src -e ip.dst -e ip.id -e ip.proto
 -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.flags`. Prints one line per check and
exits 1 on the first failed one.
"""
import ipaddress
import json
import os
import sys

MIN_ACTIVE_MS = 10 * 60 * 1000  # infections shorter than this may not reach the darknet


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ok(msg):
    print("ok:", msg)


def main():
    truth = json.load(open(sys.argv[1]))
    flows = [json.loads(l) for l in open(sys.argv[2])]
    dk = []
    for line in open(sys.argv[3]):
        f = line.rstrip("\n").split("\t")
        if len(f) < 9 or not f[1]:
            continue
        dk.append({"t": int(float(f[0]) * 1000), "src": f[1], "dst": f[2],
                   "id": int(f[3], 16) if f[3].startswith("0x") else int(f[3] or 0),
                   "proto": int(f[4]), "sport": int(f[5] or 0), "dport": int(f[6] or 0),
                   "seq": int(f[7] or -1), "flags": f[8]})
    exporters = {e["name"]: e for e in truth["exporters"]}

    def unsampled(exporter_name):
        e = exporters[exporter_name]
        return e["sampling_rate"] == 1 and e["format"] != "sflow_v5"

    inf_by_addr = {i["addr"]: i for i in truth["infections"]}
    by_pair = {}
    for r in flows:
        by_pair.setdefault((r["src_addr"], r["dst_addr"]), []).append(r)
    if len(flows) != truth["outputs"]["exports"]["flow_records"]:
        fail("collect gave %d records, the simulator reports %d"
             % (len(flows), truth["outputs"]["exports"]["flow_records"]))
    ok("flow records: %d" % len(flows))

    # 1. every labelled C&C address is contacted by its bots (those behind unsampled exporters)
    checked = cadenced = 0
    for c in truth["c2_servers"]:
        for a in c["addresses"]:
            for bot in a["bots"]:
                if not unsampled(inf_by_addr[bot]["exporter"]):
                    continue
                hits = [r for r in by_pair.get((bot, a["addr"]), [])
                        if r["dst_port"] == c["port"] and r["proto"] == 6
                        and a["first_ms"] <= r["start_ms"] <= a["last_ms"]]
                if not hits:
                    fail("bot %s never contacts C&C %s:%d in the exported flows"
                         % (bot, a["addr"], c["port"]))
                # keep-alives are sparse: one record per period, start == end
                starts = sorted(r["start_ms"] for r in hits)
                if len(starts) >= 4:
                    gaps = sorted(b - a2 for a2, b in zip(starts, starts[1:]))
                    med = gaps[len(gaps) // 2] / 1000.0
                    if not 0.8 * c["keepalive_s"] <= med <= 1.5 * c["keepalive_s"]:
                        fail("bot %s -> %s: median record gap %.1f s, keep-alive %d s"
                             % (bot, a["addr"], med, c["keepalive_s"]))
                    cadenced += 1
                checked += 1
    if not checked:
        fail("no C&C contact could be checked")
    moved = [c for c in truth["c2_servers"] if len(c["addresses"]) > 1]
    if not moved:
        fail("no C&C server changes address")
    if not cadenced:
        fail("no C&C connection long enough to check its keep-alive cadence")
    ok("C&C contacts: %d bot-address pairs (%d with keep-alive cadence); %d servers move"
       % (checked, cadenced, len(moved)))

    # 2. every infected Mirai device scans the darknet with seq == destination address
    mirai_src = {}
    for p in dk:
        if p["proto"] == 6 and p["seq"] == int(ipaddress.IPv4Address(p["dst"])):
            mirai_src.setdefault(p["src"], []).append(p)
    n = 0
    for i in truth["infections"]:
        if i["family"] != "mirai" or i["last_ms"] - i["first_ms"] < MIN_ACTIVE_MS:
            continue
        hits = [p for p in mirai_src.get(i["addr"], [])
                if i["first_ms"] <= p["t"] <= i["last_ms"] + 1000 and p["dport"] in (23, 2323)]
        if not hits:
            fail("Mirai bot %s (%s) never reaches the darknet with seq == dst"
                 % (i["addr"], i["isp"]))
        n += 1
    isp_nets = [ipaddress.ip_network(p) for isp in truth["isps"] for p in isp["prefixes"]
                if ":" not in p]
    labelled = {i["addr"] for i in truth["infections"] if i["family"] == "mirai"}
    for src in mirai_src:
        a = ipaddress.ip_address(src)
        if any(a in net for net in isp_nets) and src not in labelled:
            fail("darknet source %s has the Mirai fingerprint but is not a labelled bot" % src)
    ok("Mirai bots in the darknet: %d checked" % n)

    # 3. every spoofed attack's victim shows up as backscatter in the darknet
    n = 0
    for a in truth["ddos_attacks"]:
        if not a["backscatter"]:
            continue
        pk = [p for p in dk if p["src"] == a["victim"] and a["first_ms"] <= p["t"] <= a["last_ms"] + 1]
        want = 25 if a["last_ms"] - a["first_ms"] >= 60000 else 1
        if len(pk) < want:
            fail("victim %s: %d backscatter packets" % (a["victim"], len(pk)))
        if a["proto"] == "tcp" and not all(p["sport"] == a["port"] for p in pk if p["proto"] == 6):
            fail("victim %s: backscatter from the wrong port" % a["victim"])
        n += 1
    if not n:
        fail("no spoofed attack in the run")
    ok("backscatter victims: %d" % n)

    # 4. the bots of non-spoofed floods send to the victim in the exported flows
    n = 0
    for a in truth["ddos_attacks"]:
        if a["backscatter"]:
            continue
        for bot in a["bots"]:
            if not unsampled(inf_by_addr[bot]["exporter"]):
                continue
            hits = [r for r in by_pair.get((bot, a["victim"]), [])
                    if r["dst_port"] == a["port"] and r["proto"] == 17]
            if not hits:
                fail("bot %s: no flood flow to %s:%d" % (bot, a["victim"], a["port"]))
            n += 1
    ok("flood flows: %d bot-victim pairs" % n)

    # 5. Mozi bots talk UDP with peers and never with a C&C server
    c2_addrs = {a["addr"] for c in truth["c2_servers"] for a in c["addresses"]}
    n = 0
    for i in truth["infections"]:
        if i["family"] != "mozi" or not unsampled(i["exporter"]):
            continue
        mine = [r for r in flows if r["src_addr"] == i["addr"]]
        if any(r["dst_addr"] in c2_addrs for r in mine):
            fail("Mozi bot %s contacts a C&C server" % i["addr"])
        if i["last_ms"] - i["first_ms"] >= MIN_ACTIVE_MS and not any(
                r["proto"] == 17 and r["src_port"] == i["p2p_port"] for r in mine):
            fail("Mozi bot %s has no DHT traffic" % i["addr"])
        n += 1
    ok("Mozi bots: %d checked" % n)

    # 6. research scanners carry their tool's fingerprint
    for s in truth["research_scanners"]:
        pk = [p for p in dk if p["src"] == s["addr"]]
        for p in pk:
            if s["tool"] == "zmap" and p["id"] != 54321:
                fail("ZMap scanner %s: IP ID %d" % (s["addr"], p["id"]))
            if s["tool"] == "masscan":
                want = (int(ipaddress.IPv4Address(p["dst"])) ^ p["dport"] ^ p["seq"]) & 0xffff
                if p["id"] != want:
                    fail("Masscan scanner %s: IP ID %d, expected %d" % (s["addr"], p["id"], want))
    ok("research scanners: %d" % len(truth["research_scanners"]))

    if len(dk) != truth["darknet"]["packets"]:
        fail("tshark read %d darknet packets, the simulator reports %d"
             % (len(dk), truth["darknet"]["packets"]))
    ok("darknet packets: %d" % len(dk))

    # 7. the telescope finds the infected devices and the victims
    if len(sys.argv) > 4:
        tdir = sys.argv[4]
        srcs = {}
        for l in open(os.path.join(tdir, "sources.ndjson")):
            r = json.loads(l)
            srcs[r["src"]] = r
        n = 0
        for i in truth["infections"]:
            if i["family"] != "mirai" or i["last_ms"] - i["first_ms"] < MIN_ACTIVE_MS:
                continue
            r = srcs.get(i["addr"])
            if not r or "mirai" not in r["fingerprints"] or not r["infected_iot"]:
                fail("telescope does not list Mirai bot %s as infected: %s" % (i["addr"], r))
            n += 1
        victims = {json.loads(l)["victim"] for l in open(os.path.join(tdir, "victims.ndjson"))}
        for a in truth["ddos_attacks"]:
            if a["backscatter"] and a["last_ms"] - a["first_ms"] >= 60000 and a["victim"] not in victims:
                fail("telescope misses victim %s" % a["victim"])
        ok("telescope: %d Mirai bots infected, victims found" % n)


if __name__ == "__main__":
    main()
