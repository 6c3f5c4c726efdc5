#!/usr/bin/env python3
"""peers_check.py - compares what botscope and nfcapd collected with what the capture held.

Usage:
  peers_check.py --truth T.json --family all|v4 --version 5|9|10
                 --nfdump NFDUMP.csv --botscope LABEL=FILE.ndjson [--botscope LABEL=FILE ...]

T.json is written by peers_gen_pcap.py --totals; NFDUMP.csv is `nfdump -R DIR -o csv`
(nfdump 1.7 layout: a header line, the records, then a summary block); each FILE.ndjson is a
`botscope collect --output ndjson` (or `botscope flows -o ndjson`) listing.

Checks, each a failure when it does not hold:
  1. every botscope listing and the nfcapd listing agree exactly on flow count, packet total,
     byte total, and flow by flow (same key, same packets, same bytes);
  2. every botscope record carries the expected export version;
  3. the listings agree flow by flow with the capture itself: each unidirectional flow of the
     capture (restricted to IPv4 when --family v4: NetFlow v5 cannot carry IPv6 and softflowd
     drops it) is one record with the capture's packet count and IP byte count.
The flow key is (src, dst, proto, src_port, dst_port) for TCP and UDP; for ICMP and ICMPv6 it
is (src, dst, proto) because exporters disagree on where (and whether) they put type and code
(softflowd v9 sends 0 for ICMPv6; its IPFIX and pmacct send type << 8 | code), and the
capture never has two ICMP flows between the same pair in the same direction with different
types, so nothing is merged that the exporters keep apart.
Byte semantics: both exporters count the IP datagram (IPv4 total length, IPv6 40 + payload
length), never the Ethernet header, which is what the capture totals count too.
Prints one summary line per source; exits 1 on any mismatch with the first differences.
"""
import argparse
import ipaddress
import json
import sys

ICMP = (1, 58)
PROTO_NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}


def norm_key(src, dst, proto, sport, dport):
    src = str(ipaddress.ip_address(src.strip()))
    dst = str(ipaddress.ip_address(dst.strip()))
    if proto in ICMP:
        return (src, dst, proto, 0, 0)
    return (src, dst, proto, int(sport), int(dport))


def add(table, key, packets, nbytes):
    f, p, b = table.get(key, (0, 0, 0))
    table[key] = (f + 1, p + packets, b + nbytes)


def load_truth(path, family):
    with open(path) as fh:
        t = json.load(fh)
    table = {}
    for k, v in t["flow_table"].items():
        src, dst, proto, sport, dport = k.split(" ")
        key = norm_key(src, dst, int(proto), sport, dport)
        if family == "v4" and ":" in key[0]:
            continue
        add(table, key, v["packets"], v["bytes"])
    return table


def load_ndjson(path, version, errors, label):
    table = {}
    bad_version = 0
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if str(r.get("version")) != str(version):
                bad_version += 1
            key = norm_key(r["src_addr"], r["dst_addr"], int(r["proto"]),
                           r.get("src_port", 0), r.get("dst_port", 0))
            add(table, key, int(r["packets"]), int(r["bytes"]))
    if bad_version:
        errors.append("%s: %d records without version %s" % (label, bad_version, version))
    return table


def load_nfdump_csv(path):
    table = {}
    with open(path) as fh:
        hdr = None
        for line in fh:
            cols = [c.strip() for c in line.strip().split(",")]
            if hdr is None:
                hdr = cols
                continue
            if len(cols) != len(hdr) or not cols[0][:1].isdigit():
                continue  # the summary block
            r = dict(zip(hdr, cols))
            proto = PROTO_NAMES.get(r["pr"])
            if proto is None:
                proto = int(r["pr"])
            key = norm_key(r["sa"], r["da"], proto, r["sp"], r["dp"])
            add(table, key, int(r["ipkt"]), int(r["ibyt"]))
    return table


def totals(table):
    return tuple(sum(v[i] for v in table.values()) for i in range(3))


def diff(name_a, a, name_b, b, errors):
    ta, tb = totals(a), totals(b)
    if ta != tb:
        errors.append("%s vs %s: totals (flows, packets, bytes) %s != %s" % (name_a, name_b, ta, tb))
    shown = 0
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            if shown < 8:
                errors.append("%s vs %s: flow %s: %s != %s" % (name_a, name_b, k, a.get(k), b.get(k)))
            shown += 1
    if shown > 8:
        errors.append("%s vs %s: %d more differing flows" % (name_a, name_b, shown - 8))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--truth", required=True)
    ap.add_argument("--family", choices=["all", "v4"], default="all")
    ap.add_argument("--version", required=True)
    ap.add_argument("--nfdump", required=True)
    ap.add_argument("--botscope", action="append", default=[])
    a = ap.parse_args()
    errors = []
    truth = load_truth(a.truth, a.family)
    nf = load_nfdump_csv(a.nfdump)
    print("capture:  flows %d packets %d bytes %d" % totals(truth))
    print("nfcapd:   flows %d packets %d bytes %d" % totals(nf))
    diff("nfcapd", nf, "capture", truth, errors)
    if not a.botscope:
        errors.append("no botscope listing given")
    for spec in a.botscope:
        label, path = spec.split("=", 1)
        bs = load_ndjson(path, a.version, errors, label)
        print("%-9s flows %d packets %d bytes %d" % ((label + ":",) + totals(bs)))
        diff(label, bs, "nfcapd", nf, errors)
        diff(label, bs, "capture", truth, errors)
    for e in errors:
        print("MISMATCH " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
