#!/usr/bin/python3
"""A fleet as synwatch probers would leave it in Redis, for the consumers'
tests and the exporter benchmark: every key of docs/redis.md (schema 1),
written as Redis protocol on stdout for `redis-cli --pipe`.

  consumers_fixture.py [--targets N] [--locations fra1,ams1] [--minutes M]
                       [--history K] [--prefix P] [--now UNIX_S] [--seed S]
                       [--expect FILE]

With the default 36 targets the states are fixed (the tests assert on them);
with more they are drawn at random (97% up). --expect writes what a reader
should find (counts, down lists, states) as JSON. Latency minutes use the
text form of docs/latency.md, encoded here independently of the C code.
"""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import command  # noqa: E402

LAT_NS_MAX = 134217728000 - 1
PORTS = [(22, "ssh", "ops"), (80, "web", "web"), (443, "web", "web"), (5432, "db", "dba")]
STATES = ["unknown", "up", "degraded", "down", "flapping"]

# the small fleet: target index -> state, per location
FIXED = {
    "fra1": {3: "down", 7: "down", 11: "down", 5: "degraded", 14: "degraded", 9: "flapping", 20: "unknown"},
    "ams1": {3: "down", 11: "down", 25: "down", 14: "degraded", 20: "unknown"},
}
# how long ago each non-up state began (seconds), by target index
SINCE_AGO = {3: 640, 7: 3725, 11: 93784, 25: 185, 5: 1500, 14: 420, 9: 300, 20: 60}
TRICKY = 5  # a name and labels that need escaping everywhere
# service checks (docs/redis.md, the check's fields of the state hash), small
# fleet only: db-7 is down from fra1 because its postgres check fails, and
# still up from ams1 while its check fails there too, in other words; the
# 443 ports have a TLS check with a certificate (web-14's 5 days from its end)
CHECK_DOWN = 7
CHECK_ERRORS = {"fra1": "FATAL: sorry, too many clients already",
                "ams1": "FATAL: remaining connection slots are reserved for superusers"}
CERT_SOON = 14


def check_fields(i, loc, now):
    """The check's fields of target i's state hash as loc's prober writes them, or []."""
    port = PORTS[i % len(PORTS)][0]
    base = ["check_ts", str((now - 2) * 10**9 + i), "check_us", "%.3f" % (800 + i)]
    empty_tls = ["tls_version", "", "tls_cipher", "", "cert_subject", "", "cert_issuer", "", "cert_sans", "",
                 "cert_not_after", "", "cert_days_left", "", "cert_verified", ""]
    if i == CHECK_DOWN:
        return base + ["check", "postgres", "check_ok", "0", "check_verdict", "check_failed",
                       "check_error", CHECK_ERRORS.get(loc, CHECK_ERRORS["fra1"]), "banner", ""] + empty_tls
    if port == 443:
        days = 5 if i == CERT_SOON else 40 + i
        _, _, name, _, _ = target_of(i)
        return base + ["check", "https", "check_ok", "1", "check_verdict", "cert_expiring" if days < 14 else "ok",
                       "check_error", "", "banner", "HTTP/1.1 200 OK", "tls_version", "TLSv1.3",
                       "tls_cipher", "TLS_AES_128_GCM_SHA256", "cert_subject", "CN=%s.example.test" % name,
                       "cert_issuer", "CN=Test CA", "cert_sans", "DNS:%s.example.test" % name,
                       "cert_not_after", str(now + days * 86400 + 3600), "cert_days_left", str(days),
                       "cert_verified", "1"]
    return []


def bucket(ns):
    us = max(0, min(ns, LAT_NS_MAX)) // 1000
    if us < 16:
        return us
    k = us.bit_length() - 1
    return (k - 3) * 16 + ((us >> (k - 4)) & 15)


def lat_encode(t, samples, lost):
    samples = [max(0, min(s, LAT_NS_MAX)) for s in samples]
    if not samples:
        return "v1 t=%d n=0 l=%d min=0 max=0 sum=0 b=" % (t, lost)
    counts = {}
    for s in samples:
        b = bucket(s)
        counts[b] = counts.get(b, 0) + 1
    b = ",".join(str(i) if c == 1 else "%d:%d" % (i, c) for i, c in sorted(counts.items()))
    return "v1 t=%d n=%d l=%d min=%d max=%d sum=%d b=%s" % (
        t, len(samples), lost, min(samples), max(samples), sum(samples), b)


class Resp:
    def __init__(self, out):
        self.out = out
        self.parts = []

    def cmd(self, *args):
        self.parts.append(command(*args))
        if len(self.parts) >= 4096:
            self.flush()

    def flush(self):
        self.out.write(b"".join(self.parts))
        self.parts = []


# the handshake histograms' bounds (store/histo.h, docs/redis.md P histo:LOC), microseconds
HISTO_BOUNDS_US = [50 << k for k in range(19)]
ADDRS = 131071  # 198.18.0.1 through 198.19.255.255


def histo_field(rtt_ns):
    for b in HISTO_BOUNDS_US:
        if rtt_ns <= b * 1000:
            return str(b)
    return "inf"


def target_of(i):
    port, group, team = PORTS[i % len(PORTS)]
    # past the addresses of 198.18.0.0/15 the ports move up by 8000 per round
    n = i % ADDRS + 1
    port += 8000 * (i // ADDRS)
    ip = "198.%d.%d.%d" % (18 + (n >> 16), (n >> 8) & 255, n & 255)
    name = "%s-%d" % (group, i)
    labels = {"team": team, "criticality": "critical" if group == "db" else "normal"}
    if i == TRICKY:
        name = 'db "primary" \\ eu'
        labels = {"team": "dba", "criticality": "critical", "note": 'line1\nline2 "q" \\ end', "rack.id": "r-7"}
    return ip, port, name, group, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=36)
    ap.add_argument("--locations", default="fra1,ams1")
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--history", type=int, default=2,
                    help="targets (the first ones, and the tricky one) with 24 h of minutes")
    ap.add_argument("--prefix", default="synwatch:")
    ap.add_argument("--now", type=int, default=int(time.time()))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-target", default="web,db",
                    help="the groups the probers' heartbeats name in metrics_per_target (comma separated)")
    ap.add_argument("--expect")
    a = ap.parse_args()
    if not 0 < a.targets <= 8 * ADDRS:
        ap.error("--targets: 1 to %d (the addresses of 198.18.0.0/15, 8 ports each)" % (8 * ADDRS))
    per_target = [g for g in a.per_target.split(",") if g]
    rnd = random.Random(a.seed)
    P = a.prefix
    now = a.now
    locs = a.locations.split(",")
    small = a.targets <= 64
    out = Resp(sys.stdout.buffer)
    expect = {"now": now, "prefix": P, "locations": sorted(locs), "counts": {}, "down": {}, "states": {},
              "names": {}, "probers": [], "groups": {}, "target_group": {}, "per_target": per_target,
              "histos": {}}

    out.cmd("SET", P + "schema", "1")
    events = []  # (ts_ns, fields)
    for li, loc in enumerate(locs):
        prober = "%s/probe-%s" % (loc, "abcdefgh"[li % 8])
        counts = {s: 0 for s in STATES + ["all"]}
        idx = {s: [] for s in STATES + ["all"]}
        down = []
        groups = {}  # group -> state -> targets, as the exporter counts their state hashes
        histo = {}   # "FIELD:GROUP" -> n: each answered target counts 10 answers of its last RTT
        for i in range(a.targets):
            ip, port, name, group, labels = target_of(i)
            t = "%s:%d" % (ip, port)
            if small:
                st = FIXED.get(loc, {}).get(i, "up")
                ago = SINCE_AGO.get(i, 86400 * 3 + i * 60)
            else:
                x = rnd.random()
                st = "up" if x < 0.97 else "degraded" if x < 0.98 else "down" if x < 0.995 else \
                    "flapping" if x < 0.998 else "unknown"
                ago = rnd.randint(30, 86400 * 5)
            since_s = now - ago
            counts[st] += 1
            counts["all"] += 1
            idx[st].append((since_s, t))
            idx["all"].append((now - 86400 * 7, t))
            expect["states"].setdefault(t, {})[loc] = st
            expect["names"][t] = name
            expect["target_group"][t] = group
            # a target without a state hash (unknown) has no group for a reader
            g = groups.setdefault(group if st != "unknown" else "", {x: 0 for x in STATES})
            g[st] += 1
            if st == "down":
                down.append([t, since_s])
            base_us = 300 + (i * 137) % 9000 if small else rnd.uniform(200, 20000)
            if st == "degraded":
                base_us *= 40
            reason = {"up": "open", "degraded": "slow", "down": "timeout" if i % 2 else "refused",
                      "flapping": "flapping", "unknown": ""}[st]
            last = {"up": "open", "degraded": "open", "down": "filtered" if i % 2 else "closed",
                    "flapping": "open", "unknown": ""}[st]
            checks = check_fields(i, loc, now) if small else []
            if small and i == CHECK_DOWN and st == "down":
                reason, last = "check_failed", "open"  # the kernel answers, the database does not
            if small and i == CERT_SOON and st == "degraded":
                reason = "cert_expiring"
            rtt = "" if last in ("filtered", "") else "%.3f" % (base_us * rnd.uniform(0.9, 1.2))
            if rtt:
                ns = round(float(rtt) * 1000)
                for f, n in ((histo_field(ns), 10), ("count", 10), ("sum_us", 10 * ns // 1000)):
                    histo[f + ":" + group] = histo.get(f + ":" + group, 0) + n
            if st != "unknown":
                out.cmd("HSET", "%sstate:%s:%s" % (P, loc, t), "state", st, "since", since_s * 10**9,
                        "reason", reason, "last_result", last, "last_rtt_us", rtt,
                        "last_ts", (now - 3) * 10**9 + i, "name", name, "group", group,
                        "labels", json.dumps(labels, separators=(",", ":")), "prober", prober, *checks)
            if checks:
                c = dict(zip(checks[::2], checks[1::2]))
                expect.setdefault("checks", {}).setdefault(t, {})[loc] = c
            if st != "up" and st != "unknown" and since_s > now - 86400 * 2:
                ev = {"kind": "state", "target": t, "ip": ip, "port": str(port), "name": name, "group": group,
                      "labels": json.dumps(labels, separators=(",", ":")), "from": "up", "to": st,
                      "reason": reason, "since": str((since_s - 86400) * 10**9), "rtt_us": rtt,
                      "location": loc, "prober": prober}
                if checks:
                    ev["check"] = dict(zip(checks[::2], checks[1::2]))["check"]
                if reason == "check_failed":
                    ev["check_error"] = CHECK_ERRORS[loc]
                elif reason == "cert_expiring":
                    ev["check_error"] = "certificate expires in %d days" % 5
                events.append((since_s * 10**9 + i, ev))
            # latency minutes
            history = small and (i < a.history or i == TRICKY)
            minutes = 1440 if history else a.minutes
            # the history targets are checked every 2 s, the others every 10 s
            per_minute = 30 if history else 6
            first_down = since_s if st == "down" else None
            for m in range(minutes, 0, -1):
                start = (now // 60 - m) * 60
                if first_down is not None and start >= first_down:
                    out.cmd("ZADD", "%slat:%s:%s" % (P, loc, t), start, lat_encode(start, [], per_minute))
                    continue
                # a daily wave and a few spikes, so that the chart has a shape
                wave = 1 + 0.25 * ((start // 60) % 1440 > 720)
                spike = 6 if rnd.random() < 0.02 else 1
                samples = [int(base_us * wave * rnd.lognormvariate(0, 0.15) * (spike if k == 5 else 1) * 1000)
                           for k in range(per_minute)]
                lost = 1 if (st == "flapping" and rnd.random() < 0.5) or rnd.random() < 0.01 else 0
                out.cmd("ZADD", "%slat:%s:%s" % (P, loc, t), start, lat_encode(start, samples[lost:], lost))
        for s in STATES + ["all"]:
            members = idx[s]
            for k in range(0, len(members), 1000):
                args = []
                for score, m in members[k:k + 1000]:
                    args += [score, m]
                out.cmd("ZADD", "%sidx:%s:%s" % (P, loc, s), *args)
        expect["counts"][loc] = counts
        expect["down"][loc] = sorted(down, key=lambda d: (d[1], d[0]))
        expect["groups"][loc] = groups
        expect["histos"][loc] = histo
        for f, n in sorted(histo.items()):
            out.cmd("HINCRBY", P + "histo:" + loc, f, n)
        # the prober's heartbeat: a live one per location, ams1's overloaded
        sc = {s: counts[s] for s in STATES}
        hb = now * 1000 - 400
        out.cmd("HSET", P + "prober:" + prober, "location", loc, "host", prober.split("/")[1],
                "version", "0.9.0", "started", now - 7200, "heartbeat", hb, "targets", counts["all"],
                "rate", 10000, "sent_per_s", 12 + li, "replies_per_s", 11 + li, "pcap_drops", 3 * li,
                "backlog", 1234 if li == 1 else 0, "spilled", 0, "overloaded", 1 if li == 1 else 0,
                "demand_pps", 12, "isolated", 0, "state_counts", json.dumps(sc, separators=(",", ":")),
                "rejected", 5 + li, "metrics_per_target", json.dumps(per_target, separators=(",", ":")))
        out.cmd("ZADD", P + "probers", hb, prober)
        expect["probers"].append({"id": prober, "alive": True, "overloaded": li == 1,
                                  "backlog": 1234 if li == 1 else 0})
    # a prober that stopped 20 minutes ago: in P probers, its hash expired
    gone = locs[0] + "/probe-old"
    out.cmd("ZADD", P + "probers", (now - 1200) * 1000, gone)
    expect["probers"].append({"id": gone, "alive": False})
    # a host event and a prober event among the state events
    ip3 = target_of(3)[0]
    events.append(((now - 640) * 10**9 + 99, {"kind": "host_down", "ip": ip3, "ports": "1",
                                              "location": locs[0], "prober": locs[0] + "/probe-a"}))
    events.append(((now - 7000) * 10**9, {"kind": "prober_isolated", "failing_share": "0.91",
                                          "location": locs[-1], "prober": locs[-1] + "/probe-b"}))
    events.append(((now - 6900) * 10**9, {"kind": "prober_ok", "failing_share": "0.02",
                                          "location": locs[-1], "prober": locs[-1] + "/probe-b"}))
    events.sort(key=lambda e: e[0])
    for n, (ts, f) in enumerate(events):
        f = dict(f, id="3f2a9c0e11d4b7a5-%d" % (n + 1), ts=str(ts))
        args = []
        for k, v in f.items():
            args += [k, v]
        out.cmd("XADD", P + "events", "%d-%d" % (ts // 10**6, n), *args)
    expect["events"] = len(events)
    out.flush()
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump(expect, f, indent=1)


if __name__ == "__main__":
    main()
