#!/usr/bin/env python3
"""peers_udp.py - datagram plumbing for the real-exporter tests (loopback only).

  record --port-file F --out CAP.pcap [--idle S] [--max S]
      Binds 127.0.0.1 on a free UDP port, writes the port number to F, and records every
      datagram received into CAP.pcap (DLT_EN10MB, synthetic Ethernet/IPv4/UDP headers carrying
      the real source address and port; destination 127.0.0.1 and the bound port). Stops when nothing has
      arrived for --idle seconds after the first datagram, after --max seconds in all, or on
      SIGTERM/SIGINT. Prints the number of datagrams recorded.
  replay CAP.pcap --to PORT [--burst N] [--gap S]
      Sends the UDP payloads of CAP.pcap, in order, to 127.0.0.1:PORT, pausing --gap seconds
      after every --burst datagrams so a small receive buffer never overflows.
  free-port
      Prints a UDP port on 127.0.0.1 that was free a moment ago.
"""
import os
import signal
import socket
import struct
import sys
import time


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


def frame(payload, src, sport, dport):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total & 0xFFFF, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), b"\x7f\0\0\x01")
    eth = b"\0" * 12 + b"\x08\x00"
    return eth + ip + udp


def record(args):
    port_file = args[args.index("--port-file") + 1]
    out = args[args.index("--out") + 1]
    idle = float(args[args.index("--idle") + 1]) if "--idle" in args else 3.0
    maxs = float(args[args.index("--max") + 1]) if "--max" in args else 60.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    stop = [False]

    def on_sig(*_):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    n = 0
    t_start = time.time()
    last = None
    with open(out, "wb") as f:
        f.write(pcap_header())
        s.settimeout(0.2)
        while not stop[0]:
            now = time.time()
            if now - t_start > maxs or (last is not None and now - last > idle):
                break
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            last = time.time()
            fr = frame(data, addr[0], addr[1], port)
            sec = int(last)
            f.write(struct.pack("<IIII", sec, int((last - sec) * 1e6), len(fr), len(fr)))
            f.write(fr)
            n += 1
        # Stopping: whatever is already queued on the socket still belongs to the capture.
        s.setblocking(False)
        while True:
            try:
                data, addr = s.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            now = time.time()
            fr = frame(data, addr[0], addr[1], port)
            sec = int(now)
            f.write(struct.pack("<IIII", sec, int((now - sec) * 1e6), len(fr), len(fr)))
            f.write(fr)
            n += 1
    print(n)
    return 0


def read_payloads(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        raise SystemExit("replay: %s: not a little-endian microsecond pcap" % path)
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        fr = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(fr) < 14 + 20 + 8 or fr[12:14] != b"\x08\x00":
            continue
        ihl = (fr[14] & 0x0F) * 4
        if fr[14 + 9] != 17:
            continue
        out.append(fr[14 + ihl + 8:])
    return out


def replay(args):
    path = args[0]
    port = int(args[args.index("--to") + 1])
    burst = int(args[args.index("--burst") + 1]) if "--burst" in args else 20
    gap = float(args[args.index("--gap") + 1]) if "--gap" in args else 0.005
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    for p in read_payloads(path):
        s.sendto(p, ("127.0.0.1", port))
        n += 1
        if n % burst == 0:
            time.sleep(gap)
    print(n)
    return 0


def free_port(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"record": record, "replay": replay, "free-port": free_port}.get(cmd)
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(args)


if __name__ == "__main__":
    sys.exit(main())
