#!/usr/bin/python3
"""Forges replies toward a prober: SYN-ACKs and RSTs with wrong
acknowledgement numbers, resets without ACK, and ICMP unreachables quoting
SYNs the prober never sent, each spoofed from an endpoint's address to a
random port of the prober's source range.

usage: forge.py PROBER_IP ENDPOINTS_FILE SECONDS PPS [PORT_LO PORT_HI] [--garbage]

--garbage adds a fifth kind: TCP or ICMP packets of random bytes and lengths.

ENDPOINTS_FILE: "IP PORT" per line (the addresses to spoof). Run it inside
the namespace that owns those addresses. Prints "forged N" at the end.
Standard library only (a raw IPPROTO_RAW socket)."""
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_hdr(src, dst, proto, payload_len, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, random.randrange(65536), 0, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def tcp_seg(src, dst, sport, dport, seq, ack, flags):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(pseudo + t)) + t[18:]


def main():
    prober, path, secs, pps = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    garbage = "--garbage" in sys.argv
    args = [a for a in sys.argv if a != "--garbage"]
    lo, hi = (int(args[5]), int(args[6])) if len(args) > 6 else (61000, 61999)
    eps = [(l.split()[0], int(l.split()[1])) for l in open(path) if l.strip()]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    n = 0
    start = time.monotonic()
    while time.monotonic() - start < secs:
        ip, port = random.choice(eps)
        sport = random.randint(lo, hi)
        kind = n % (5 if garbage else 4)
        if kind == 0:  # SYN-ACK acknowledging a guess
            seg = tcp_seg(ip, prober, port, sport, random.getrandbits(32), random.getrandbits(32), 0x12)
            pkt = ip_hdr(ip, prober, 6, len(seg)) + seg
        elif kind == 1:  # RST-ACK acknowledging a guess
            seg = tcp_seg(ip, prober, port, sport, 0, random.getrandbits(32), 0x14)
            pkt = ip_hdr(ip, prober, 6, len(seg)) + seg
        elif kind == 2:  # a bare RST: never acceptable in SYN-SENT
            seg = tcp_seg(ip, prober, port, sport, random.getrandbits(32), 0, 0x04)
            pkt = ip_hdr(ip, prober, 6, len(seg)) + seg
        elif kind == 4:  # garbage: random bytes after a valid IP header, bad lengths
            junk = random.randbytes(random.randint(0, 60))
            pkt = ip_hdr(ip, prober, random.choice((1, 6)), len(junk)) + junk
        else:  # ICMP port unreachable quoting a SYN with a guessed sequence number
            q = tcp_seg(prober, ip, sport, port, random.getrandbits(32), 0, 0x02)
            quote = ip_hdr(prober, ip, 6, len(q)) + q[:8]
            icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quote
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            pkt = ip_hdr(ip, prober, 1, len(icmp)) + icmp
        try:
            s.sendto(pkt, (prober, 0))
            n += 1
        except OSError:
            pass
        # pace: sleep off the lead over the target rate
        ahead = n / pps - (time.monotonic() - start)
        if ahead > 0.001:
            time.sleep(ahead)
    print(f"forged {n}")


if __name__ == "__main__":
    main()
