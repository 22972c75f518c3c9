#!/usr/bin/python3
"""The measuring half of bench/checks.sh (the service checks benchmark).

  checks.py sample PID [--nginx MASTER_PID] [--every 0.25] > SAMPLES
      every --every seconds until PID is gone, one line: CLOCK_REALTIME in
      ns, then clock ticks (CLK_TCK) of user and system time of the whole
      process PID, of its thread sw-checker, and of the nginx workers
      (the children of MASTER_PID; user + system), then name=ticks of each
      of PID's threads.

  checks.py window SAMPLES NDJSON --from NS --len T
      one line of key=value fields for a window of the run: from the
      first sample at or after NS (CLOCK_REALTIME) to the last within T
      seconds of it. Counts the "check" lines of NDJSON whose ts falls in
      the window (ok, full and resumed TLS handshakes, the first error)
      and the SYN results, and divides the CPU time of the window by the
      checks that passed (µs per check) and by the SYNs; the cores each
      used; each thread's µs per check (per SYN in a run without checks).

Python standard library only (Debian's /usr/bin/python3).
"""
import argparse
import json
import os
import sys
import time


def ticks(path):
    """utime, stime of /proc/.../stat, in clock ticks; None once it is gone."""
    try:
        with open(path) as f:
            s = f.read()
    except OSError:
        return None
    # the name may hold spaces and parentheses: fields start after the last ')'
    f = s[s.rindex(")") + 2:].split()
    return int(f[11]), int(f[12])


def checker_tid(pid):
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() == "sw-checker":
                        return tid
            except OSError:
                pass
    except OSError:
        pass
    return None


def threads(pid):
    """name=ticks,... of every thread of pid (user + system)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return "-"
    for tid in sorted(tids, key=int):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        u = ticks(f"/proc/{pid}/task/{tid}/stat")
        if u:
            out.append(f"{name}={u[0] + u[1]}")
    return ",".join(out) or "-"


def children(ppid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        if s[s.rindex(")") + 2:].split()[1] == str(ppid):
            out.append(p)
    return out


def cmd_sample(a):
    workers = children(a.nginx) if a.nginx else []
    tid = None
    out = sys.stdout
    while True:
        t = time.clock_gettime_ns(time.CLOCK_REALTIME)
        proc = ticks(f"/proc/{a.pid}/stat")
        if proc is None:
            return 0
        if tid is None:
            tid = checker_tid(a.pid)
        chk = ticks(f"/proc/{a.pid}/task/{tid}/stat") if tid else None
        srv = 0
        for w in workers:
            u = ticks(f"/proc/{w}/stat")
            if u:
                srv += u[0] + u[1]
        chk = chk or (0, 0)
        out.write(f"{t} {proc[0]} {proc[1]} {chk[0]} {chk[1]} {srv} {threads(a.pid)}\n")
        out.flush()
        time.sleep(a.every)


def iso_ns(ts):
    """'2026-12-07T21:38:56.533823317Z' -> ns since the epoch (UTC)."""
    day, _, rest = ts.partition("T")
    hms, _, frac = rest.rstrip("Z").partition(".")
    y, mo, d = (int(v) for v in day.split("-"))
    h, mi, s = (int(v) for v in hms.split(":"))
    # days from the civil date (Howard Hinnant's algorithm): no time zone
    # database, no float
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 10**9) + int((frac + "000000000")[:9])


def cmd_window(a):
    hz = os.sysconf("SC_CLK_TCK")
    samples = []
    for line in open(a.samples):
        v = line.split()
        if len(v) == 7:
            samples.append([int(x) for x in v[:6]] + [v[6]])
    checks, syns = [], []
    for line in open(a.ndjson):
        if line.startswith('{"type":"check"'):
            checks.append(json.loads(line))
        elif line.startswith('{"type":"result"'):
            syns.append(iso_ns(line[line.index('"ts":"') + 6:].split('"', 1)[0]))
    for c in checks:
        c["t"] = iso_ns(c["ts"])
    if len(samples) < 2:
        print(f"n=0 error=\"{len(samples)} samples\"")
        return 1
    lo = a.start
    hi = lo + int(a.len * 1e9)
    inside = [s for s in samples if lo <= s[0] <= hi]
    if len(inside) < 2:
        print(f"n=0 error=\"the window holds {len(inside)} samples\"")
        return 1
    s0, s1 = inside[0], inside[-1]
    t0, t1 = s0[0], s1[0]
    wall = (t1 - t0) / 1e9
    win = [c for c in checks if t0 <= c["t"] < t1]
    n = len(win)
    nsyn = sum(1 for t in syns if t0 <= t < t1)
    d = [s1[i] - s0[i] for i in range(1, 6)]  # ticks: process user, sys, checker user, sys, nginx

    def per(k, count):  # ticks over the window -> µs per count
        return f"{1e6 * k / hz / count:.1f}" if count else "-"
    fields = {"n": n, "wall_s": f"{wall:.2f}", "per_s": f"{n / wall:.0f}", "syn_per_s": f"{nsyn / wall:.0f}",
              "proc_cores": f"{(d[0] + d[1]) / hz / wall:.3f}", "chk_cores": f"{(d[2] + d[3]) / hz / wall:.3f}",
              "srv_cores": f"{d[4] / hz / wall:.3f}", "proc_per_syn_us": per(d[0] + d[1], nsyn)}
    per_thread = {}
    for when, sign in ((s1[6], 1), (s0[6], -1)):
        for kv in when.split(","):
            k, _, v = kv.partition("=")
            if v:
                per_thread[k] = per_thread.get(k, 0) + sign * int(v)
    ok = sum(1 for c in win if c.get("check_ok"))
    count = ok if n else nsyn
    if count:
        fields["threads"] = '"' + ", ".join(f"{k} {per(v, count)}" for k, v in per_thread.items()) + '"'
    if n:
        resumed = sum(1 for c in win if c.get("tls_resumed") is True)
        full = sum(1 for c in win if c.get("tls_version") and c.get("tls_resumed") is False)
        fields.update({
            "ok": ok, "failed": n - ok, "ok_per_s": f"{ok / wall:.0f}", "full": full, "resumed": resumed,
            "full_pct": f"{100 * full / (full + resumed):.2f}" if full + resumed else "0",
            # per check that passed: every endpoint is healthy, so a failure
            # is the prober's own, work that did not give a check
            "proc_us": per(d[0] + d[1], ok), "proc_user_us": per(d[0], ok), "proc_sys_us": per(d[1], ok),
            "chk_us": per(d[2] + d[3], ok), "chk_user_us": per(d[2], ok), "chk_sys_us": per(d[3], ok),
            "srv_us": per(d[4], ok),
        })
        bad = [c for c in win if not c.get("check_ok")]
        if bad:
            why = bad[0].get("check_error", "?").replace('"', "'")
            fields["first_error"] = f'"{why[:120]}"'
    print(" ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


def main():
    ap = argparse.ArgumentParser(prog="checks.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sample")
    p.add_argument("pid", type=int)
    p.add_argument("--nginx", type=int)
    p.add_argument("--every", type=float, default=0.25)
    p = sub.add_parser("window")
    p.add_argument("samples")
    p.add_argument("ndjson")
    p.add_argument("--from", dest="start", type=int, required=True)
    p.add_argument("--len", type=float, required=True)
    a = ap.parse_args()
    return {"sample": cmd_sample, "window": cmd_window}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
