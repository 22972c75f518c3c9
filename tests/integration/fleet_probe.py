#!/usr/bin/python3
"""Plain kernel TCP connects to many endpoints at once, for checking a test
fleet with nothing of synwatch in the loop.

usage: fleet_probe.py [--tries N] [--spacing S] [--timeout S] ADDR:PORT...
       fleet_probe.py ... -        (endpoints on stdin, one a line)

Every endpoint gets N attempts, attempt k starting k*S seconds after the
first (all endpoints in parallel); an attempt is one non-blocking connect()
given T seconds. Prints one line per attempt, tab-separated:

  ADDR PORT ATTEMPT START RESULT MS

START is when the connect was issued (CLOCK_REALTIME, seconds, like the
fleet's flap schedule), RESULT is 'connected', 'timeout' or the errno name
(ECONNREFUSED, EHOSTUNREACH...), MS the time to that result in milliseconds.
Keep T under 1 s when the kernel must send one SYN only (it retransmits
after 1 s). Python standard library only.
"""
import argparse
import errno
import heapq
import select
import socket
import sys
import time


def parse_ep(s):
    host, _, port = s.strip().rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=1)
    ap.add_argument("--spacing", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("endpoints", nargs="+")
    a = ap.parse_args()
    eps = []
    for e in a.endpoints:
        if e == "-":
            eps += [parse_ep(l) for l in sys.stdin if l.strip()]
        else:
            eps.append(parse_ep(e))

    t0 = time.monotonic()
    due = [(t0 + k * a.spacing, i, k) for k in range(a.tries) for i in range(len(eps))]
    heapq.heapify(due)
    poller = select.poll()
    live = {}  # fd -> (sock, ep index, attempt, start mono, start real)
    deadlines = []  # (deadline, fd, start mono) heap
    out = []

    def finish(fd, result, now):
        s, i, k, m0, r0 = live.pop(fd)
        poller.unregister(fd)
        s.close()
        out.append(f"{eps[i][0]}\t{eps[i][1]}\t{k}\t{r0:.6f}\t{result}\t{(now - m0) * 1000:.3f}")

    while due or live:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, i, k = heapq.heappop(due)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            # close() sends RST and leaves no TIME_WAIT behind: hundreds of
            # attempts must not run out of ports
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            r0, m0 = time.time(), time.monotonic()
            rc = s.connect_ex(eps[i])
            fd = s.fileno()
            live[fd] = (s, i, k, m0, r0)
            poller.register(fd, select.POLLOUT)
            if rc == 0:
                finish(fd, "connected", time.monotonic())
            elif rc != errno.EINPROGRESS:
                finish(fd, errno.errorcode.get(rc, str(rc)), time.monotonic())
            else:
                heapq.heappush(deadlines, (m0 + a.timeout, fd, m0))
        now = time.monotonic()
        while deadlines and (deadlines[0][1] not in live or live[deadlines[0][1]][3] != deadlines[0][2]):
            heapq.heappop(deadlines)  # finished, or its fd was reused
        while deadlines and deadlines[0][0] <= now:
            _, fd, _ = heapq.heappop(deadlines)
            finish(fd, "timeout", now)
            while deadlines and (deadlines[0][1] not in live or live[deadlines[0][1]][3] != deadlines[0][2]):
                heapq.heappop(deadlines)
        wake = [d[0] for d in (due[:1] + deadlines[:1])]
        wait = max(0.0, min(wake) - time.monotonic()) if wake else 0.0
        for fd, _ in poller.poll(wait * 1000 + 0.5 if wake else 0):
            if fd not in live:
                continue
            err = live[fd][0].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            finish(fd, "connected" if err == 0 else errno.errorcode.get(err, str(err)),
                   time.monotonic())
    sys.stdout.write("".join(l + "\n" for l in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
