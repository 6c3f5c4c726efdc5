#!/usr/bin/env python3
"""collect_send.py - a small NetFlow v5 / IPFIX sender for the live collector tests.

Sends only to the loopback address given with --to (127.0.0.0/8 or ::1; anything else is
refused), from --src (a loopback address, so allow-list tests can use several exporters).

  collect_send.py --to 127.0.0.1:2055 [--src 127.0.0.2] --kind v5 --datagrams N --flows 30
  collect_send.py --to [::1]:4739 --kind ipfix-template
  collect_send.py --to [::1]:4739 --kind ipfix-data --datagrams N --flows 10
  collect_send.py --to 127.0.0.1:4739 --kind ipfix-flood --datagrams N
      (a template flood: 100 one-field templates per message, IDs 1000, 1001, ...; --id-base N
      starts at 1000 + N, wrapping within 1000..64999)
  collect_send.py --to 127.0.0.1:2055 --kind v5-garbage --datagrams N
      (a valid v5 header for 30 records, now, followed by 30 x 48 seeded random bytes)
  collect_send.py --to 127.0.0.1:2055 --kind v5-many --datagrams N
      (one 1-flow v5 datagram from each of N source addresses 127.1.0.0, 127.1.0.1, ...)
  collect_send.py --to 127.0.0.1:9 --kind port-free   (prints a free UDP port on the address)

Every flow is distinct and recognisable: v5 flow i of datagram d has src_port 10000+i,
dst_port d % 65536, packets d*1000+i+1, bytes 100 x packets (at most 2^32-1); IPFIX flows use src 10.0.0.1, dst
10.0.0.2, dst_port 443, packets 7, bytes 700+i. --rate N sends at most N datagrams a second.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time


def parse_addr(s):
    if s.startswith('['):
        host, port = s[1:].split(']:')
    else:
        host, port = s.rsplit(':', 1)
    return host, int(port)


def v5_datagram(d, nflows, seq):
    now = int(time.time())
    hdr = struct.pack('>HHIIIIBBH', 5, nflows, 100000, now, 0, seq, 0, 1, 0)
    recs = b''
    for i in range(nflows):
        recs += struct.pack('>4s4s4sHHIIIIHHBBBBHHBBH',
                            bytes([192, 0, 2, 1 + i % 200]), bytes([198, 51, 100, 7]),
                            bytes(4), 1, 2, (d * 1000 + i + 1) & 0xffffffff,
                            min(100 * (d * 1000 + i + 1), 0xffffffff), 90000, 99000,
                            10000 + i, d % 65536, 0, 0x12, 6, 0, 64500, 64501, 24, 24, 0)
    return hdr + recs


IPFIX_TEMPLATE_ID = 300
# (IE, length): src, dst, src port, dst port, proto, packets, bytes, start ms, end ms
IPFIX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)]


def ipfix_message(sets, seq, domain=42):
    body = b''.join(sets)
    return struct.pack('>HHIII', 10, 16 + len(body), int(time.time()), seq, domain) + body


def ipfix_template():
    t = struct.pack('>HH', IPFIX_TEMPLATE_ID, len(IPFIX_FIELDS))
    for ie, ln in IPFIX_FIELDS:
        t += struct.pack('>HH', ie, ln)
    return struct.pack('>HH', 2, 4 + len(t)) + t


def v5_garbage(d, seq):
    import random
    rng = random.Random(d)
    now = int(time.time())
    hdr = struct.pack('>HHIIIIBBH', 5, 30, 100000, now, 0, seq, 0, 1, 0)
    return hdr + bytes(rng.getrandbits(8) for _ in range(30 * 48))


def ipfix_flood(d, base):
    recs = b''
    for i in range(100):
        recs += struct.pack('>HHHH', 1000 + (base + d * 100 + i) % 64000, 1, 8, 4)
    return struct.pack('>HH', 2, 4 + len(recs)) + recs


def ipfix_data(nflows):
    now_ms = int(time.time() * 1000)
    recs = b''
    for i in range(nflows):
        recs += struct.pack('>4s4sHHBQQQQ', bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]),
                            20000 + i, 443, 6, 7, 700 + i, now_ms - 1000, now_ms)
    return struct.pack('>HH', IPFIX_TEMPLATE_ID, 4 + len(recs)) + recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--to', required=True)
    ap.add_argument('--src')
    ap.add_argument('--kind', required=True,
                    choices=['v5', 'v5-garbage', 'v5-many', 'ipfix-template', 'ipfix-data', 'ipfix-flood', 'garbage',
                             'port-free'])
    ap.add_argument('--datagrams', type=int, default=1)
    ap.add_argument('--flows', type=int, default=30)
    ap.add_argument('--seq', type=int, default=0)
    ap.add_argument('--rate', type=float, default=0)
    ap.add_argument('--id-base', type=int, default=0)
    a = ap.parse_args()
    host, port = parse_addr(a.to)
    ip = ipaddress.ip_address(host)
    if not ip.is_loopback:
        sys.exit('collect_send.py: refusing to send to %s (loopback only)' % host)
    fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.kind == 'port-free':
        s.bind((host, 0))
        print(s.getsockname()[1])
        return 0
    if a.src:
        if not ipaddress.ip_address(a.src).is_loopback:
            sys.exit('collect_send.py: --src must be a loopback address')
        s.bind((a.src, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    if a.kind == 'v5-many':
        base = int(ipaddress.ip_address('127.1.0.0'))
        msg = v5_datagram(0, 1, 0)
        t0 = time.time()
        for d in range(a.datagrams):
            m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            m.bind((str(ipaddress.ip_address(base + d)), 0))
            m.sendto(msg, (host, port))
            m.close()
            if a.rate:
                ahead = (d + 1) / a.rate - (time.time() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        return 0
    seq = a.seq
    t0 = time.time()
    for d in range(a.datagrams):
        if a.kind == 'v5':
            msg = v5_datagram(d, a.flows, seq)
            seq += a.flows
        elif a.kind == 'ipfix-template':
            msg = ipfix_message([ipfix_template()], seq)
        elif a.kind == 'v5-garbage':
            msg = v5_garbage(d, seq)
            seq += 30
        elif a.kind == 'ipfix-flood':
            msg = ipfix_message([ipfix_flood(d, a.id_base)], seq)
        elif a.kind == 'ipfix-data':
            msg = ipfix_message([ipfix_data(a.flows)], seq)
            seq += a.flows
        else:
            msg = b'\x00\x63garbage datagram'
        while True:
            try:
                s.sendto(msg, (host, port))
                break
            except BlockingIOError:
                time.sleep(0.001)
        if a.rate:
            ahead = (d + 1) / a.rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
    return 0


if __name__ == '__main__':
    sys.exit(main())
