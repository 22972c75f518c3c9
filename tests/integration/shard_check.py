#!/usr/bin/python3
"""shard_check: what test_shards.sh asks of the results stream.

  shard_check.py steady ADDR PREFIX FROM_MS TO_MS N
      in [FROM_MS, TO_MS) (result ts) each of the N targets was checked by
      exactly one prober, about once per second (gaps 0.6..1.4 s)
  shard_check.py failover ADDR PREFIX KILLED KILL_MS MAX_MS
      every target KILLED checked in the 3 s before KILL_MS is checked by
      another prober within MAX_MS after KILL_MS; prints the worst delay (ms)

Exit 0 when the check holds, else 1 with one line saying what differs.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import Redis, rfc3339_ns, stream  # noqa: E402


def ts_ms(e):
    t = e["ts"]
    return (int(t) if t.isdigit() else rfc3339_ns(t)) // 10**6


def results(addr, prefix):
    return [(ts_ms(e), e["target"], e["prober"]) for e in stream(Redis(addr), prefix + "results")]


def steady(addr, prefix, lo, hi, n):
    seen = collections.defaultdict(list)
    for ts, target, prober in results(addr, prefix):
        if lo <= ts < hi:
            seen[target].append((ts, prober))
    if len(seen) != n:
        return f"{len(seen)} targets checked in the window, want {n}"
    for target, v in sorted(seen.items()):
        probers = {p for _, p in v}
        if len(probers) != 1:
            return f"{target} checked by {sorted(probers)}, want one prober"
        v.sort()
        gaps = [b[0] - a[0] for a, b in zip(v, v[1:])]
        if not gaps or min(gaps) < 600 or max(gaps) > 1400:
            return f"{target}: checks at gaps {gaps} ms, want about 1000"
    share = collections.Counter(v[0][1] for v in seen.values())
    print(" ".join(f"{p}={c}" for p, c in sorted(share.items())))
    return None


def failover(addr, prefix, killed, kill_ms, max_ms):
    res = results(addr, prefix)
    theirs = {t for ts, t, p in res if p == killed and kill_ms - 3000 <= ts < kill_ms}
    if not theirs:
        return f"{killed} checked nothing in the 3 s before the kill"
    worst = 0
    for target in theirs:
        after = [ts for ts, t, p in res if t == target and p != killed and ts >= kill_ms]
        if not after:
            return f"{target} of {killed} not checked by another prober after the kill"
        worst = max(worst, min(after) - kill_ms)
    print(worst)
    if worst > max_ms:
        return f"a target of {killed} waited {worst} ms after the kill, want at most {max_ms}"
    return None


def main():
    a = sys.argv[1:]
    if a[0] == "steady":
        err = steady(a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    else:
        err = failover(a[1], a[2], a[3], int(a[4]), int(a[5]))
    if err:
        print(err, file=sys.stderr)
        sys.exit(1)


main()
