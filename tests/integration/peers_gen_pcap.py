#!/usr/bin/env python3
"""peers_gen_pcap.py - writes a deterministic traffic capture for the real-exporter tests.

Usage: peers_gen_pcap.py OUT.pcap [--seed N] [--conversations N] [--t0 SECONDS] [--totals OUT.json]

The capture is Ethernet (DLT_EN10MB), written by hand (no scapy): IPv4 and IPv6 conversations
over TCP (handshake, data, FIN close), UDP (request/response) and ICMP/ICMPv6 echo. Addresses
are documentation/test ranges only; nothing is ever sent anywhere, the file is only read by the
exporters. Same seed and start time, same bytes.

--totals writes what the capture holds, computed from the packets written, as JSON:
  packets, ip_bytes (IPv4 total length; IPv6 40 + payload length, i.e. the IP datagram size
  without the link layer), and per unidirectional flow key (src, dst, proto, sport, dport;
  ICMP keyed by type/code in dport like NetFlow) the packet and byte counts, split by family.
"""
import argparse
import json
import random
import struct
import sys

LINKTYPE_ETHERNET = 1
T0 = 1700000000  # default capture start, seconds since the epoch (--t0)
SPAN_S = 50.0    # every conversation starts and ends inside this window


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    # only the forms this script produces: "2001:db8:<h>::<h>"
    head, tail = a.split("::")
    hp = [int(x, 16) for x in head.split(":")]
    tp = [int(x, 16) for x in tail.split(":")] if tail else []
    words = hp + [0] * (8 - len(hp) - len(tp)) + tp
    return struct.pack("!8H", *words)


class Writer:
    def __init__(self):
        self.pkts = []  # (ts, frame, info)

    def add(self, ts, frame, info):
        self.pkts.append((ts, frame, info))


def l4_tcp(sport, dport, seq, ack, flags, payload):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return hdr + payload


def l4_udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def l4_icmp(typ, code, ident, seq, payload):
    return struct.pack("!BBHHH", typ, code, 0, ident, seq) + payload


def fix_l4_csum(proto, l4, pseudo):
    off = {6: 16, 17: 6, 1: 2, 58: 2}[proto]
    l4 = bytearray(l4)
    l4[off:off + 2] = b"\0\0"
    c = csum((pseudo if proto != 1 else b"") + bytes(l4))
    if proto == 17 and c == 0:
        c = 0xFFFF
    l4[off:off + 2] = struct.pack("!H", c)
    return bytes(l4)


def ipv4_packet(src, dst, proto, l4, ident, ttl=64):
    s, d = ip4(src), ip4(dst)
    pseudo = s + d + struct.pack("!BBH", 0, proto, len(l4))
    l4 = fix_l4_csum(proto, l4, pseudo)
    total = 20 + len(l4)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident & 0xFFFF, 0x4000, ttl, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4, total


def ipv6_packet(src, dst, proto, l4, hlim=64):
    s, d = ip6(src), ip6(dst)
    pseudo = s + d + struct.pack("!I3xB", len(l4), proto)
    l4 = fix_l4_csum(proto, l4, pseudo)
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, hlim, s, d)
    return hdr + l4, 40 + len(l4)


def ether(ip, v6, a_to_b):
    mac_a = b"\x02\x00\x00\x00\x00\x01"
    mac_b = b"\x02\x00\x00\x00\x00\x02"
    dst, src = (mac_b, mac_a) if a_to_b else (mac_a, mac_b)
    return dst + src + struct.pack("!H", 0x86DD if v6 else 0x0800) + ip


def build(seed, nconv, t0):
    rng = random.Random(seed)
    w = Writer()
    ident = [1]

    def emit(ts, v6, src, dst, proto, l4, a_to_b, key):
        if v6:
            ip, iplen = ipv6_packet(src, dst, proto, l4)
        else:
            ip, iplen = ipv4_packet(src, dst, proto, l4, ident[0])
            ident[0] += 1
        w.add(ts, ether(ip, v6, a_to_b), (v6, key, iplen))

    for i in range(nconv):
        v6 = rng.random() < 0.3
        kind = rng.choices(["tcp", "udp", "icmp"], weights=[5, 3, 2])[0]
        if v6:
            cli = "2001:db8:%x::%x" % (rng.randrange(1, 16), rng.randrange(1, 0xFFFF))
            srv = "2001:db8:ff%02x::%x" % (rng.randrange(0, 16), rng.randrange(1, 0xFF))
        else:
            cli = "198.51.100.%d" % rng.randrange(1, 255)
            srv = "203.0.113.%d" % rng.randrange(1, 255)
        t = t0 + rng.uniform(0.0, SPAN_S * 0.8)
        gap = lambda: rng.uniform(0.001, 0.05)  # noqa: E731
        sport = 1024 + i * 7 % 60000 + 1  # unique per conversation: no 5-tuple reuse
        if kind == "tcp":
            dport = rng.choice([22, 23, 80, 443, 2323, 8080])
            kc = (cli, srv, 6, sport, dport)
            ks = (srv, cli, 6, dport, sport)
            seq_c, seq_s = rng.randrange(1 << 32), rng.randrange(1 << 32)
            emit(t, v6, cli, srv, 6, l4_tcp(sport, dport, seq_c, 0, 0x02, b""), True, kc)
            t += gap()
            emit(t, v6, srv, cli, 6, l4_tcp(dport, sport, seq_s, seq_c + 1, 0x12, b""), False, ks)
            t += gap()
            emit(t, v6, cli, srv, 6, l4_tcp(sport, dport, seq_c + 1, seq_s + 1, 0x10, b""), True, kc)
            for _ in range(rng.randrange(1, 12)):
                t += gap()
                n = rng.randrange(1, 1400)
                pl = bytes(rng.getrandbits(8) for _ in range(n))
                if rng.random() < 0.4:
                    emit(t, v6, cli, srv, 6, l4_tcp(sport, dport, seq_c, seq_s, 0x18, pl), True, kc)
                else:
                    emit(t, v6, srv, cli, 6, l4_tcp(dport, sport, seq_s, seq_c, 0x18, pl), False, ks)
            t += gap()
            emit(t, v6, cli, srv, 6, l4_tcp(sport, dport, seq_c, seq_s, 0x11, b""), True, kc)
            t += gap()
            emit(t, v6, srv, cli, 6, l4_tcp(dport, sport, seq_s, seq_c + 1, 0x11, b""), False, ks)
            t += gap()
            emit(t, v6, cli, srv, 6, l4_tcp(sport, dport, seq_c + 1, seq_s + 1, 0x10, b""), True, kc)
        elif kind == "udp":
            dport = rng.choice([53, 123, 161, 1900, 5353])
            kc = (cli, srv, 17, sport, dport)
            ks = (srv, cli, 17, dport, sport)
            for _ in range(rng.randrange(1, 6)):
                q = bytes(rng.getrandbits(8) for _ in range(rng.randrange(10, 200)))
                emit(t, v6, cli, srv, 17, l4_udp(sport, dport, q), True, kc)
                t += gap()
                if rng.random() < 0.8:
                    r = bytes(rng.getrandbits(8) for _ in range(rng.randrange(10, 900)))
                    emit(t, v6, srv, cli, 17, l4_udp(dport, sport, r), False, ks)
                    t += gap()
        else:
            proto = 58 if v6 else 1
            req, rep = (128, 129) if v6 else (8, 0)
            kc = (cli, srv, proto, 0, req << 8)
            ks = (srv, cli, proto, 0, rep << 8)
            ident_icmp = i & 0xFFFF
            for s in range(rng.randrange(1, 6)):
                pl = bytes(56)
                emit(t, v6, cli, srv, proto, l4_icmp(req, 0, ident_icmp, s, pl), True, kc)
                t += gap()
                emit(t, v6, srv, cli, proto, l4_icmp(rep, 0, ident_icmp, s, pl), False, ks)
                t += gap()
    w.pkts.sort(key=lambda p: p[0])
    return w.pkts


def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for ts, frame, _ in pkts:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def totals(pkts):
    out = {"packets": 0, "ip_bytes": 0, "v4": {}, "v6": {}}
    flows = {}
    for _, _, (v6, key, iplen) in pkts:
        fam = "v6" if v6 else "v4"
        out["packets"] += 1
        out["ip_bytes"] += iplen
        fs = out[fam].setdefault("packets", 0)
        out[fam]["packets"] = fs + 1
        out[fam]["ip_bytes"] = out[fam].get("ip_bytes", 0) + iplen
        k = "%s %s %d %d %d" % key
        p, b = flows.get(k, (0, 0))
        flows[k] = (p + 1, b + iplen)
        out[fam]["flows"] = out[fam].get("flows", 0) + (1 if p == 0 else 0)
    out["flows"] = len(flows)
    out["flow_table"] = {k: {"packets": p, "bytes": b} for k, (p, b) in sorted(flows.items())}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--conversations", type=int, default=300)
    ap.add_argument("--t0", type=int, default=T0)
    ap.add_argument("--totals")
    a = ap.parse_args()
    pkts = build(a.seed, a.conversations, a.t0)
    write_pcap(a.out, pkts)
    if a.totals:
        with open(a.totals, "w") as f:
            json.dump(totals(pkts), f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
