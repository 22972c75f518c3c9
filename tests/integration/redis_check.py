#!/usr/bin/python3
"""redis_check: what test_redis.sh asks of a private redis-server, over its
unix socket or 127.0.0.1, with a minimal RESP client (no redis module).

  redis_check.py compare NDJSON ADDR PREFIX
      every result the NDJSON sink printed is in PREFIX results exactly once,
      per target in the same order, and nothing else is there
  redis_check.py fields ADDR KIND KEY FIELD...
      KIND stream: the newest entry of KEY has every FIELD;
      KIND hash: the hash KEY has every FIELD
  redis_check.py count ADDR PREFIX TARGET
      how many entries of PREFIX results are for TARGET
  redis_check.py histo NDJSON ADDR PREFIX LOC
      every answer the NDJSON sink printed (open or closed, with an RTT) is
      counted exactly once in PREFIX histo:LOC, in its group and bucket, and
      the sum of the RTTs is there to the microsecond

ADDR is a socket path or HOST:PORT. Exit 0 when the check holds, else 1
with one line saying what differs.
"""
import calendar
import json
import socket
import sys
import time


def command(*args):
    """One Redis command as RESP: an array of bulk strings (str() of each
    argument that is not bytes already)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Redis:
    def __init__(self, addr):
        if addr.startswith("/"):
            self.s = socket.socket(socket.AF_UNIX)
            self.s.connect(addr)
        else:
            host, port = addr.rsplit(":", 1)
            self.s = socket.create_connection((host, int(port)))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        self.s.sendall(command(*args))
        return self.read()

    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


def stream(r, key):
    """Every entry of a stream, oldest first, as dicts."""
    start = "-"
    while True:
        chunk = r.cmd("XRANGE", key, start, "+", "COUNT", 5000)
        for eid, flat in chunk:
            yield dict(zip(flat[0::2], flat[1::2]))
        if len(chunk) < 5000:
            return
        start = "(" + chunk[-1][0]


def rfc3339_ns(ts):
    """2026-11-25T01:02:03.123456789Z -> Unix ns"""
    whole, frac = ts.rstrip("Z").split(".")
    secs = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int(frac.ljust(9, "0"))


def compare(ndjson, addr, prefix):
    printed = {}
    n_printed = 0
    with open(ndjson) as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") != "result":
                continue
            target = f"{o['ip']}:{o['port']}"
            printed.setdefault(target, []).append((rfc3339_ns(o["ts"]), o["state"]))
            n_printed += 1
    written = {}
    n_written = 0
    for e in stream(Redis(addr), prefix + "results"):
        written.setdefault(e["target"], []).append((int(e["ts"]), e["state"]))
        n_written += 1
    if n_printed != n_written:
        extra = {t: len(v) - len(printed.get(t, [])) for t, v in written.items() if len(v) != len(printed.get(t, []))}
        missing = {t: len(v) - len(written.get(t, [])) for t, v in printed.items() if len(v) != len(written.get(t, []))}
        print(f"stdout printed {n_printed} results, redis has {n_written}; more in redis: {extra}; "
              f"missing from redis: {missing}")
        return 1
    for target, seq in printed.items():
        if written.get(target) != seq:
            got = written.get(target, [])
            first = next((i for i, (a, b) in enumerate(zip(seq, got)) if a != b), min(len(seq), len(got)))
            print(f"{target}: the sequences differ at result {first} of {len(seq)} "
                  f"(stdout {seq[first:first + 2]}, redis {got[first:first + 2]})")
            return 1
    print(f"{n_written} results in {len(written)} targets, each exactly once and in order")
    return 0


def fields(addr, kind, key, want):
    r = Redis(addr)
    if kind == "stream":
        last = r.cmd("XREVRANGE", key, "+", "-", "COUNT", 1)
        if not last:
            print(f"'{key}' is empty")
            return 1
        have = dict(zip(last[0][1][0::2], last[0][1][1::2]))
    else:
        flat = r.cmd("HGETALL", key)
        have = dict(zip(flat[0::2], flat[1::2]))
    missing = [f for f in want if f not in have]
    if missing:
        print(f"'{key}' lacks {missing}; it has {have}")
        return 1
    return 0


HISTO_BOUNDS_US = [50 << k for k in range(19)]  # store/histo.h


def histo(ndjson, addr, prefix, loc):
    want = {}
    sums = {}
    with open(ndjson) as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") != "result" or o["state"] not in ("open", "closed") or o.get("rtt_us") is None:
                continue
            ns = round(o["rtt_us"] * 1000)
            g = o.get("group", "")
            b = next((str(u) for u in HISTO_BOUNDS_US if ns <= u * 1000), "inf")
            for field in (b, "count"):
                want[field + ":" + g] = want.get(field + ":" + g, 0) + 1
            sums[g] = sums.get(g, 0) + ns
    for g, ns in sums.items():
        want["sum_us:" + g] = ns // 1000
    flat = Redis(addr).cmd("HGETALL", prefix + "histo:" + loc)
    have = {k: int(v) for k, v in zip(flat[0::2], flat[1::2])}
    if have != want:
        diff = sorted((k, have.get(k), want.get(k)) for k in set(have) | set(want) if have.get(k) != want.get(k))
        print(f"{prefix}histo:{loc} differs from the printed answers (field, redis, printed): {diff[:8]}")
        return 1
    print(f"{sum(v for k, v in want.items() if k.startswith('count:'))} answers in {len(sums)} groups, "
          f"each counted once in {prefix}histo:{loc}")
    return 0


def count(addr, prefix, target):
    print(sum(1 for e in stream(Redis(addr), prefix + "results") if e.get("target") == target))
    return 0


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) >= 5 and sys.argv[1] == "fields":
        return fields(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    if len(sys.argv) == 6 and sys.argv[1] == "histo":
        return histo(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    if len(sys.argv) == 5 and sys.argv[1] == "count":
        return count(sys.argv[2], sys.argv[3], sys.argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
