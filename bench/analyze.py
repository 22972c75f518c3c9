#!/usr/bin/python3
"""The numbers behind bench/results.md; bench/bench.sh runs every step.

  analyze.py ceiling DIR ID SET REP      one kernel-ceiling run -> one JSON line
  analyze.py run DIR TOOL ID RATE REP    one section-1 run of a prober -> one JSON line
  analyze.py progress RUNS.jsonl         the last run as a progress line
  analyze.py halfmax RUNS.jsonl          half of synwatch's highest rate (median of a step)
  analyze.py rtt DIR                     section 3 (the tcpdump comparison) -> JSON
  analyze.py report OUT BENCHDIR         BENCHDIR/results.md, plot data and OUT/plots.gp

Rates are measured the same way for every prober, on the wire: the prober
veth's tx_packets, sampled every millisecond by bench/txsample.c, climbs
during the send phase; its duration is the time from 0.1 % to 99.9 % of the
climb (divided by 0.998), and the rate is the probes sent over it.

Debian's python3, standard library only (no scapy, no dpkt): the pcap is
read with struct.
"""
import gzip
import json
import os
import re
import statistics
import struct
import sys

PROBER_IP = "198.19.255.1"
N_ENDPOINTS = 131068  # 65534 hosts x (port 80 open, port 81 closed)
TOOLS = ("synwatch", "zmap", "masscan")


def die(msg):
    print(f"analyze.py: {msg}", file=sys.stderr)
    sys.exit(1)


def opener(path):
    """A file that may have been gzipped since (bench/bench.sh compresses raw outputs)."""
    if os.path.exists(path):
        return open(path, errors="replace")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rt", errors="replace")
    return None


def read_text(path):
    f = opener(path)
    if f is None:
        return ""
    with f:
        return f.read()


def read_lines(path):
    """The lines of path (or of path.gz); none when neither exists."""
    f = opener(path)
    if f is None:
        return
    with f:
        yield from f


def pct(values, p):
    """Nearest-rank percentile of a list (p in 0..100)."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- wire rate

def wire(path):
    """Send phase from a txsample file of the fleet side's veth, whose
    tx_packets climbs with the answers to the SYNs: {'tx', 'rx', 'span'} or None."""
    try:
        rows = [tuple(int(x) for x in l.split()) for l in open(path) if l.strip()]
    except OSError:
        return None
    if len(rows) < 2:
        return None
    tx0, rx0 = rows[0][1], rows[0][2]
    d = rows[-1][1] - tx0
    if d < 100:
        return None

    def t_at(level):
        for i in range(1, len(rows)):
            if rows[i][1] >= level:
                (ta, ca, _), (tb, cb, _) = rows[i - 1], rows[i]
                if cb == ca:
                    return tb
                return ta + (tb - ta) * (level - ca) / (cb - ca)
        return rows[-1][0]

    span = (t_at(tx0 + 0.999 * d) - t_at(tx0 + 0.001 * d)) / 0.998 / 1e9
    return {"tx": d, "rx": rows[-1][2] - rx0, "span": span if span > 0 else None}


def links(path):
    """Counter deltas of both veth ends from PREFIX.links (two lines, before
    and after): prober rx packets / rx dropped, target tx packets / tx
    dropped / rx packets / rx dropped."""
    try:
        rows = [[int(x) for x in l.split()] for l in open(path) if l.strip()]
    except (OSError, ValueError):
        return None
    if len(rows) < 2 or len(rows[0]) != 6 or len(rows[-1]) != 6:
        return None
    names = ("prober_rx", "prober_rx_dropped", "target_tx", "target_tx_dropped", "target_rx", "target_rx_dropped")
    return {k: b - a for k, a, b in zip(names, rows[0], rows[-1])}


def machine_busy(path):
    """Percent of all CPUs busy between the two /proc/stat 'cpu' lines of PATH."""
    try:
        rows = [[int(x) for x in l.split()[1:]] for l in open(path) if l.startswith("cpu ")]
    except (OSError, ValueError):
        return None
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    idle = (b[3] + b[4]) - (a[3] + a[4])
    total = sum(b[:8]) - sum(a[:8])
    return 100.0 * (total - idle) / total if total > 0 else None


def cpu_times(path):
    """/usr/bin/time -f '%U %S %e' output: (user, sys, wall) or Nones."""
    try:
        lines = [l for l in open(path) if re.match(r"^[0-9.]+ [0-9.]+ [0-9.]+$", l.strip())]
    except OSError:
        lines = []
    if not lines:
        return None, None, None
    u, s, e = (float(x) for x in lines[-1].split())
    return u, s, e


def read_rc(path):
    try:
        return int(open(path).read().strip())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- accuracy

def truth_hosts(d):
    hosts = set()
    with open(os.path.join(d, "truth.tsv")) as f:
        for line in f:
            p = line.split("\t")
            if p[0] != "ip" and len(p) > 2 and p[2] == "open" and p[1] == "80":
                hosts.add(p[0])
    return hosts


def score(hosts, results):
    """results: {(ip, port): 'open'|'closed'|other} -> counts."""
    open_ok = closed_ok = wrong = extra = 0
    for (ip, port), st in results.items():
        if ip not in hosts or port not in (80, 81):
            extra += 1
        elif port == 80 and st == "open":
            open_ok += 1
        elif port == 81 and st == "closed":
            closed_ok += 1
        else:
            wrong += 1
    total = 2 * len(hosts)
    missing = total - open_ok - closed_ok - wrong
    return {"open_ok": open_ok, "closed_ok": closed_ok, "wrong": wrong, "missing": missing, "extra": extra,
            "correct": open_ok + closed_ok, "correct_pct": 100.0 * (open_ok + closed_ok) / total}


def results_synwatch(d, rid):
    res = {}
    for line in read_lines(os.path.join(d, rid + ".out")):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "result":
            res.setdefault((o["ip"], o["port"]), o["state"])
    return res


def results_zmap(d, rid):
    res = {}
    for port in (80, 81):
        for line in read_lines(os.path.join(d, f"{rid}-{port}.out")):
            p = line.strip().split(",")
            if len(p) < 4 or p[0] == "saddr" or p[3] != "0":
                continue
            st = {"synack": "open", "rst": "closed"}.get(p[2], p[2])
            res.setdefault((p[0], int(p[1])), st)
    return res


def results_masscan(d, rid):
    res = {}
    for line in read_lines(os.path.join(d, rid + ".lst")):
        p = line.split()
        if len(p) >= 4 and p[1] == "tcp" and p[0] in ("open", "closed"):
            res.setdefault((p[3], int(p[2])), p[0])
    return res


SW_SUMMARY = [
    ("sent", r"sent (\d+) probes"),
    ("self_rate", r"(\d+) probes/s"),
    ("elapsed", r"endpoints in ([\d.]+) s"),
    ("res_open", r"results: open (\d+)"),
    ("res_closed", r"closed (\d+), unreachable"),
    ("res_filtered", r"filtered (\d+), error"),
    ("replies", r"replies (\d+);"),
    ("bad_cookie", r"bad cookie (\d+)"),
    ("stale", r"stale (\d+)"),
    ("duplicate", r"duplicate (\d+)"),
    ("approx_rtt", r"approximate rtt (\d+)"),
    ("pcap_received", r"pcap: received (\d+)"),
    ("pcap_dropped", r"dropped (\d+), interface"),
    ("pcap_ifdrops", r"interface drops (\d+)"),
    ("send_errors", r"(\d+) send errors"),
]


def synwatch_summary(text):
    out = {}
    for k, rx in SW_SUMMARY:
        m = re.search(rx, text)
        if m:
            out[k] = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
    return out


def kpps(num, unit):
    return float(num) * {"": 1, "K": 1e3, "M": 1e6}[unit]


def wire_fields(d, parts, wires, probes):
    """Rate over the send phase, replies sent by the fleet and received by
    the prober (summed over parts: zmap runs twice)."""
    out = {"wire_span": None, "wire_rate": None, "fleet_replies": None, "fleet_rx": None, "wire_rx": None,
           "replies_pct": None, "link_dropped": None}
    if all(w and w["span"] for w in wires):
        out["wire_span"] = sum(w["span"] for w in wires)
        out["wire_rate"] = probes / out["wire_span"] if probes else None
    busy = [machine_busy(os.path.join(d, p + ".cpu")) for p in parts]
    out["machine_busy"] = median(busy)
    pre = []
    for p in parts:
        try:
            pre.append(int(open(os.path.join(d, p + ".pre")).read().strip()))
        except (OSError, ValueError):
            pass
    out["busy_before"] = max(pre) if pre else None
    ls = [links(os.path.join(d, p + ".links")) for p in parts]
    if all(ls):
        out["fleet_replies"] = sum(l["target_tx"] for l in ls)
        out["fleet_rx"] = sum(l["target_rx"] for l in ls)
        out["wire_rx"] = sum(l["prober_rx"] for l in ls)
        out["link_dropped"] = sum(l["prober_rx_dropped"] + l["target_tx_dropped"] + l["target_rx_dropped"] for l in ls)
        out["replies_pct"] = 100.0 * out["wire_rx"] / probes if probes else None
    return out


def cmd_run(d, tool, rid, rate, rep):
    hosts = truth_hosts(d)
    rec = {"tool": tool, "rate": rate, "rate_req": None if rate == "max" else int(rate), "rep": int(rep),
           "id": rid}
    notes = {}
    if tool == "zmap":
        parts = [f"{rid}-80", f"{rid}-81"]
    else:
        parts = [rid]
    rcs = [read_rc(os.path.join(d, p + ".rc")) for p in parts]
    rec["rc"] = max((r for r in rcs if r is not None), default=None)
    wires = [wire(os.path.join(d, p + ".tx")) for p in parts]
    times = [cpu_times(os.path.join(d, p + ".time")) for p in parts]
    if tool == "synwatch":
        results = results_synwatch(d, rid)
        notes = synwatch_summary(read_text(os.path.join(d, rid + ".err")))
        probes = notes.get("sent", 0)
        rec["self_rate"] = notes.get("self_rate")
    elif tool == "zmap":
        results = results_zmap(d, rid)
        probes, secs = 0, 0.0
        for p in parts:
            try:
                meta = json.load(open(os.path.join(d, p + ".meta.json")))
            except (OSError, ValueError):
                meta = {}
            sent = meta.get("total_sent", 0)
            probes += sent
            for k in ("pcap_drop", "pcap_ifdrop", "send_to_failures"):
                notes[k] = notes.get(k, 0) + (meta.get(k) or 0)
            m = re.findall(r"send: (\d+) done \(([\d.]+) ([KM]?)p/s avg\)", read_text(os.path.join(d, p + ".err")))
            if m and sent:
                secs += sent / kpps(m[-1][1], m[-1][2])
        rec["self_rate"] = probes / secs if secs else None
    else:
        results = results_masscan(d, rid)
        err = read_text(os.path.join(d, rid + ".err")).replace("\r", "\n")
        done = "100.00% done" in err
        probes = N_ENDPOINTS if done else 0
        notes["completed"] = done
        rates = [float(r) * 1000 for r, pc in re.findall(r"rate:\s*([\d.]+)-kpps,\s*([\d.]+)% done", err)
                 if float(pc) < 100 and float(r) > 0]
        rec["self_rate"] = median(rates[1:] if len(rates) > 2 else rates)
    rec["probes"] = probes
    rec.update(wire_fields(d, parts, wires, probes))
    if all(t[0] is not None for t in times):
        rec["user"] = sum(t[0] for t in times)
        rec["sys"] = sum(t[1] for t in times)
        rec["wall"] = sum(t[2] for t in times)
        rec["cpu_per_m"] = (rec["user"] + rec["sys"]) / probes * 1e6 if probes else None
    else:
        rec.update(user=None, sys=None, wall=None, cpu_per_m=None)
    rec.update(score(hosts, results))
    rec["notes"] = notes
    print(json.dumps(rec))


def cmd_ceiling(d, rid, which, rep):
    text = read_text(os.path.join(d, rid + ".out"))
    kv = dict(re.findall(r"(\w+)=([\d.]+)", text))
    sent = int(kv.get("sent", 0))
    rec = {"set": which, "rep": int(rep), "rc": read_rc(os.path.join(d, rid + ".rc")), "sent": sent,
           "rate": float(kv["rate"]) if "rate" in kv else None, "secs": float(kv.get("secs", 0)) or None,
           "enobufs": int(kv.get("enobufs", 0)), "failed": int(kv.get("failed", 0))}
    rec.update(wire_fields(d, [rid], [wire(os.path.join(d, rid + ".tx"))], sent))
    m = re.search(r"(\d+) packets dropped by kernel", read_text(os.path.join(d, rid + ".tcpdump")))
    rec["tcpdump_dropped"] = int(m.group(1)) if m else None
    print(json.dumps(rec))


def load_jsonl(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip()]
    except OSError:
        return []


def rate_order(runs):
    """The rate steps in the order they were run ('max' last)."""
    seen = []
    for r in runs:
        if r["rate"] not in seen:
            seen.append(r["rate"])
    return sorted(seen, key=lambda x: float("inf") if x == "max" else int(x))


def cmd_halfmax(path):
    runs = [r for r in load_jsonl(path) if r["tool"] == "synwatch"]
    if not runs:
        die(f"no synwatch runs in {path}")
    m = max((median([r["wire_rate"] for r in runs if r["rate"] == rate]) or 0) for rate in rate_order(runs))
    if not m:
        die("no synwatch wire rate at the highest step")
    print(max(1000, int(round(m / 2 / 1000.0)) * 1000))


# ---------------------------------------------------------------- pcap and RTT

def read_pcap(path):
    """Yields (t_ns, ip_packet_bytes) of IPv4 packets."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    table = {b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
             b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000)}
    if magic not in table:
        die(f"{path}: not a pcap file (magic {magic.hex()})")
    e, mult = table[magic]
    linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0fffffff
    hdr = {1: 14, 113: 16, 276: 20, 101: 0, 12: 0}.get(linktype)
    if hdr is None:
        die(f"{path}: link type {linktype} is not handled")
    off = 24
    rec = struct.Struct(e + "IIII")
    while off + 16 <= len(data):
        sec, frac, incl, _ = rec.unpack_from(data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if linktype == 1 and pkt[12:14] != b"\x08\x00":
            continue
        yield sec * 1000000000 + frac * mult, pkt[hdr:]


def ip_str(b):
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def pair_pcap(path, prober=PROBER_IP):
    """RTT in ns per endpoint from a capture: each SYN of ours (keyed by
    endpoint, source port and ISN) with the reply that acknowledges ISN+1."""
    syns, replies = {}, {}
    n = 0
    for t, ip in read_pcap(path):
        n += 1
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        if len(tcp) < 14:
            continue
        src, dst = ip_str(ip[12:16]), ip_str(ip[16:20])
        sport, dport, seq, ack = struct.unpack_from(">HHII", tcp, 0)
        flags = tcp[13]
        if src == prober and flags == 0x02:
            syns.setdefault((dst, dport, sport, seq), t)
        elif dst == prober and (flags & 0x12 == 0x12 or flags & 0x04):
            replies.setdefault((src, sport, dport, (ack - 1) & 0xffffffff), t)
    rtt = {}
    for k, t in syns.items():
        r = replies.get(k)
        if r is not None:
            rtt.setdefault((k[0], k[1]), r - t)
    return rtt, {"packets": n, "syns": len(syns), "replies": len(replies), "pairs": len(rtt)}


def fixed_ms(spec):
    m = re.search(r"fixed:([\d.]+)(us|ms|s)\b", spec or "")
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def err_stats(errs_ns):
    a = [abs(x) / 1000.0 for x in errs_ns]
    if not a:
        return {"n": 0}
    return {"n": len(a), "p50": pct(a, 50), "p99": pct(a, 99), "max": max(a),
            "signed_median": statistics.median(errs_ns) / 1000.0}


def cmd_rtt(d):
    truth = {}
    with open(os.path.join(d, "truth.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] != "ip":
                truth[(p[0], int(p[1]))] = (p[2], p[4])
    sw = {}
    approx = 0
    with open(os.path.join(d, "synwatch.ndjson")) as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") != "result":
                continue
            if o.get("rtt_approx"):
                approx += 1
            sw[(o["ip"], o["port"])] = o
    td, cap = pair_pcap(os.path.join(d, "tcpdump.pcap"))
    tdtext = read_text(os.path.join(d, "tcpdump.err"))
    for k, rx in (("captured", r"(\d+) packets captured"), ("received_by_filter", r"(\d+) packets received by filter"),
                  ("dropped_by_kernel", r"(\d+) packets dropped by kernel")):
        m = re.search(rx, tdtext)
        cap[k] = int(m.group(1)) if m else None
    errs = {"open": [], "slow": []}
    unmatched = 0
    slow = {}
    kernel_rtt = []
    for key, (kind, spec) in truth.items():
        o = sw.get(key)
        if not o or o.get("rtt_us") is None or o.get("state") != "open":
            continue
        s_ns = round(o["rtt_us"] * 1000.0)
        t_ns = td.get(key)
        if kind == "open":
            kernel_rtt.append(o["rtt_us"])
        if t_ns is None:
            unmatched += 1
        elif not o.get("rtt_approx"):
            errs.setdefault(kind, []).append(s_ns - t_ns)
        if kind == "slow":
            ms = fixed_ms(spec)
            c = slow.setdefault(spec, {"delay_ms": ms, "sw": [], "td": []})
            c["sw"].append(o["rtt_us"] / 1000.0 - ms)
            if t_ns is not None:
                c["td"].append(t_ns / 1e6 - ms)
    out = {
        "synwatch": synwatch_summary(read_text(os.path.join(d, "synwatch.err"))),
        "synwatch_rc": read_rc(os.path.join(d, "synwatch.rc")),
        "results": len(sw),
        "states": {s: sum(1 for o in sw.values() if o["state"] == s) for s in
                   sorted({o["state"] for o in sw.values()})},
        "truth": {k: sum(1 for v in truth.values() if v[0] == k) for k in sorted({v[0] for v in truth.values()})},
        "approx": approx,
        "capture": cap,
        "unmatched": unmatched,
        "error": {k: err_stats(v) for k, v in errs.items()},
        "error_all": err_stats(errs["open"] + errs["slow"]),
        "kernel_rtt_us": {"p50": pct(kernel_rtt, 50), "p99": pct(kernel_rtt, 99)},
        "slow": [],
        "handful": [],
    }
    for spec, c in sorted(slow.items(), key=lambda kv: kv[1]["delay_ms"] or 0):
        out["slow"].append({"spec": spec, "delay_ms": c["delay_ms"], "n": len(c["sw"]),
                            "sw_excess_median_us": median(c["sw"]) * 1000.0 if c["sw"] else None,
                            "sw_excess_p99_us": pct(c["sw"], 99) * 1000.0 if c["sw"] else None,
                            "sw_excess_min_us": min(c["sw"]) * 1000.0 if c["sw"] else None,
                            "td_excess_median_us": median(c["td"]) * 1000.0 if c["td"] else None})
    # the handful probed by hping3, nping and synwatch at a low rate
    low = {}
    for i in (1, 2, 3):
        try:
            for line in open(os.path.join(d, f"handful-synwatch-{i}.ndjson")):
                o = json.loads(line)
                if o.get("type") == "result" and o.get("rtt_us") is not None:
                    low.setdefault((o["ip"], o["port"]), []).append(o["rtt_us"] / 1000.0)
        except OSError:
            pass
    try:
        handful = [l.strip() for l in open(os.path.join(d, "handful.txt")) if l.strip()]
    except OSError:
        handful = []
    for ep in handful:
        ip, port = ep.rsplit(":", 1)
        key = (ip, int(port))
        h = read_text(os.path.join(d, f"hping3-{ip}-{port}.txt"))
        n = read_text(os.path.join(d, f"nping-{ip}-{port}.txt"))
        hrtt = [float(x) for x in re.findall(r"rtt=([\d.]+) ms", h)]
        nm = re.search(r"Max rtt: ([\d.]+)ms \| Min rtt: ([\d.]+)ms \| Avg rtt: ([\d.]+)ms", n)
        nr = re.search(r"Rcvd: (\d+)", n)
        o = sw.get(key)
        out["handful"].append({
            "endpoint": ep, "spec": truth.get(key, ("?", "?"))[1], "delay_ms": fixed_ms(truth.get(key, ("", ""))[1]),
            "scan_ms": o["rtt_us"] / 1000.0 if o and o.get("rtt_us") is not None else None,
            "tcpdump_ms": td[key] / 1e6 if key in td else None,
            "synwatch_low_ms": low.get(key, []),
            "hping3_ms": hrtt,
            "nping_avg_ms": float(nm.group(3)) if nm else None,
            "nping_min_ms": float(nm.group(2)) if nm else None,
            "nping_max_ms": float(nm.group(1)) if nm else None,
            "nping_rcvd": int(nr.group(1)) if nr else None,
        })
    # |error| CDF for the plot, at most 2000 points per class
    with open(os.path.join(d, "rtt_error_cdf.dat"), "w") as f:
        for kind in ("open", "slow"):
            a = sorted(abs(x) / 1000.0 for x in errs.get(kind, []))
            f.write(f"# {kind}: |synwatch rtt - tcpdump rtt| in us, cumulative fraction\n")
            step = max(1, len(a) // 2000)
            for i in range(0, len(a), step):
                f.write(f"{max(a[i], 0.001):.3f} {(i + 1) / len(a):.5f}\n")
            if a:
                f.write(f"{max(a[-1], 0.001):.3f} 1.0\n")
            f.write("\n\n")
    print(json.dumps(out, indent=1))


# ---------------------------------------------------------------- report

def fmt_rate(x):
    return "–" if x is None else f"{x / 1000:.1f} k"


def fmt_pct(x, digits=2):
    if x is None:
        return "–"
    # never round a miss up to 100.00
    s = f"{x:.{digits}f}"
    if x < 100 and s.startswith("100"):
        s = f"{100 - 10 ** -digits:.{digits}f}"
    return s + " %"


def fmt_num(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def spread(vals, f):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    if len(vals) == 1 or f(min(vals)) == f(max(vals)):
        return f(median(vals))
    return f"{f(median(vals))} ({f(min(vals))}–{f(max(vals))})"


def group(runs):
    g = {}
    for r in runs:
        g.setdefault((r["tool"], r["rate"]), []).append(r)
    return g


def best_rate(g, tool, rates, ok):
    """Highest median wire rate among the steps where every repeat passes ok."""
    best = None
    for rate in rates:
        rs = g.get((tool, rate), [])
        if rs and all(ok(r) for r in rs):
            m = median([r["wire_rate"] for r in rs])
            if m and (best is None or m > best[0]):
                best = (m, rate)
    return best


def best_rate_median(g, tool, rates, ok):
    """Like best_rate, but a step passes when its median correct share does."""
    best = None
    for rate in rates:
        rs = g.get((tool, rate), [])
        c = median([r["correct_pct"] for r in rs])
        if rs and c is not None and ok(c):
            m = median([r["wire_rate"] for r in rs])
            if m and (best is None or m > best[0]):
                best = (m, rate)
    return best


def cmd_report(out, benchdir):
    runs = load_jsonl(os.path.join(out, "s1", "runs.jsonl"))
    ceil = load_jsonl(os.path.join(out, "ceiling", "runs.jsonl"))
    try:
        rtt = json.load(open(os.path.join(out, "s3", "rtt.json")))
    except (OSError, ValueError):
        rtt = None
    machine = {}
    try:
        for line in open(os.path.join(out, "machine.tsv")):
            k, _, v = line.rstrip("\n").partition("\t")
            machine[k] = v
    except OSError:
        pass
    elapsed = read_text(os.path.join(out, "elapsed.txt")).strip()
    rates = rate_order(runs)
    g = group(runs)
    reps = max((r["rep"] for r in runs), default=0)
    L = []
    w = L.append

    w("# synwatch benchmark results")
    w("")
    w("Written by `make bench` (bench/bench.sh, bench/analyze.py); raw data in bench/out/ (not committed).")
    w("Every probe went to 198.18.0.0/16 addresses of test fleets in network namespaces on this machine")
    w("(tests/fleet/fleet, docs/fleet.md); nothing left the machine.")
    w("")
    w("| machine | |")
    w("| --- | --- |")
    for k, label in (("nproc", "nproc"), ("cpu", "CPU"), ("kernel", "kernel"), ("os", "OS"), ("memory", "memory"),
                     ("date", "date"), ("synwatch", "synwatch"), ("zmap", "zmap"), ("masscan", "masscan"),
                     ("hping3", "hping3"), ("nping", "nping"), ("tcpdump", "tcpdump"),
                     ("busy_before", "other load before"), ("busy_after", "other load after")):
        if k in machine:
            w(f"| {label} | {machine[k]} |")
    if elapsed:
        w(f"| run time | {int(elapsed) // 60} min {int(elapsed) % 60} s |")
    w("")

    # ---- the figure
    sw_best = best_rate(g, "synwatch", rates, lambda r: r["correct"] == N_ENDPOINTS)
    zm_best = best_rate(g, "zmap", rates, lambda r: r["correct_pct"] >= 99.9)
    w("## The figure")
    w("")
    if not runs:
        w("not measured: section 1 was not run (BENCH_SECTIONS).")
    elif sw_best and zm_best:
        w(f"**synwatch / zmap = {sw_best[0] / zm_best[0]:.2f}**: synwatch classified every one of the "
          f"{N_ENDPOINTS} endpoints correctly in every repeat up to **{sw_best[0]:,.0f} probes/s** "
          f"(step `{sw_best[1]}`); zmap stayed at or above 99.9 % correct in every repeat up to "
          f"**{zm_best[0]:,.0f} probes/s** (step `{zm_best[1]}`). Rates are medians over "
          f"{reps} repeat{'s' if reps != 1 else ''}, measured on the wire; the steps are noisy (see the tables), "
          "so compare only figures of one run.")
    else:
        w(f"**not computable**: synwatch with 100.00 % correct: "
          f"{'%.0f probes/s' % sw_best[0] if sw_best else 'at no step'}; zmap with >= 99.9 %: "
          f"{'%.0f probes/s' % zm_best[0] if zm_best else 'at no step'}.")
    sw_med = best_rate_median(g, "synwatch", rates, lambda c: c == 100.0)
    zm_med = best_rate_median(g, "zmap", rates, lambda c: c >= 99.9)
    if sw_med and zm_med:
        w("")
        w(f"Judged by the median repeat of each step instead of every repeat: synwatch {sw_med[0]:,.0f} "
          f"(step `{sw_med[1]}`), zmap {zm_med[0]:,.0f} (step `{zm_med[1]}`), ratio {sw_med[0] / zm_med[0]:.2f}.")
    allruns = runs + ceil
    qmax = int(read_text(os.path.join(out, "quiet_max.txt")).strip() or 15)
    noisy = [r for r in allruns if (r.get("busy_before") or 0) > qmax]
    waited = read_text(os.path.join(out, "quiet_waited.txt")).strip()
    w("")
    if noisy:
        w(f"**Caution**: {len(noisy)} of {len(allruns)} measured runs started while other work kept the machine "
          f"more than {qmax} % busy (the benchmark waited {waited or '?'} s in all for it to calm down, then went on); "
          "their figures are skewed. See *machine busy* in the details.")
    else:
        w(f"Every measured run started on a quiet machine (at most {qmax} % busy; the benchmark waited "
          f"{waited or '0'} s in all for that).")
    cm = median([c["wire_rate"] for c in ceil if c["set"] == "all"])
    clm = median([c["wire_rate"] for c in ceil if c["set"] == "link"])
    if cm and sw_best:
        w("")
        w(f"For scale: the kernel ceiling (a bare sendmmsg loop over the same endpoints, same run) is "
          f"{cm:,.0f} probes/s on a raw IP socket" + (f" and {clm:,.0f} as Ethernet frames on a packet socket" if clm else "") +
          f"; synwatch's highest fully correct rate is {100 * sw_best[0] / cm:.0f} % of the first" +
          (f", {100 * sw_best[0] / clm:.0f} % of the second." if clm else "."))
    w("")

    if runs:
        # ---- section 1
        w("## 1. Throughput and accuracy")
        w("")

        w("Fleet: 65 534 hosts (198.18.0.1–198.18.255.254), port 80 open (kernel listener) and port 81 closed "
          f"(nftables reset) on each: **{N_ENDPOINTS} endpoints**, every tool probes each once "
          "(synwatch `--once --timeout 1s --retries 0`, zmap `-c 1`, masscan `--wait 1`). zmap 2.1.1 scans one "
          "port per run, so its figures are two runs (port 80, then port 81) added up. "
          f"\"max\" asks each tool for {100000000:,} probes/s. Each step ran {reps} times; cells show the median "
          "and (min–max).")
        w("")
        w("- *probes/s*: probes sent over the send phase, timed on the wire the same way for every tool: the "
          "fleet's kernel answers each SYN at once with one packet, so the fleet side of the veth's tx_packets "
          "(sampled every 1 ms) climbs with the SYNs arriving; the send phase is 0.1 %–99.9 % of the climb.")
        w("- *correct*: open endpoints reported open and closed ones reported closed; a missing or wrong "
          "result counts against. zmap: `classification` synack/rst; masscan: `-oL` with `--show closed`.")
        w("")
        w("| requested | synwatch probes/s | synwatch correct | zmap probes/s | zmap correct | masscan probes/s | masscan correct |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        for rate in rates:
            cells = [f"{int(rate):,}" if rate != "max" else "max"]
            for tool in TOOLS:
                rs = g.get((tool, rate), [])
                cells.append(spread([r["wire_rate"] for r in rs], fmt_rate))
                cells.append(spread([r["correct_pct"] for r in rs], fmt_pct))
            w("| " + " | ".join(cells) + " |")
        w("")
        w("Kernel ceiling, measured in the same run: bench/sendmmsg_ceiling.c builds every SYN (with synwatch's "
          "options) before the clock starts and then only calls `sendmmsg` (batches of 64) on a raw IP socket, "
          "or on a packet socket as Ethernet frames to the gateway's MAC (synwatch's default link path, zmap's "
          "way); *replies* are the packets the prober's side of the veth received, per probe.")
        w("")
        w("| endpoints | probes/s (on the wire) | probes/s (its own clock) | replies |")
        w("| --- | --- | --- | --- |")
        for s, label in (("all", f"all {N_ENDPOINTS} (half open, half closed)"),
                         ("link", f"all {N_ENDPOINTS}, as Ethernet frames on a packet socket"),
                         ("80", "65 534 open (port 80)"),
                         ("81", "65 534 closed (port 81)"),
                         ("cap", f"all {N_ENDPOINTS}, while tcpdump captures what synwatch's filter passes "
                                 "(our SYNs leaving + the replies; immediate mode, 64 MiB buffer)")):
            cs = [c for c in ceil if c["set"] == s]
            if cs:
                drops = [c.get("tcpdump_dropped") for c in cs if c.get("tcpdump_dropped") is not None]
                note = f" (tcpdump dropped {', '.join(map(str, drops))})" if drops else ""
                w(f"| {label} | {spread([c['wire_rate'] for c in cs], fmt_rate)} | "
                  f"{spread([c['rate'] for c in cs], fmt_rate)} | {spread([c['replies_pct'] for c in cs], fmt_pct)}{note} |")
        w("")
        w("![probes/s on the wire per requested rate](throughput.png)")
        w("")
        w("![share of endpoints classified correctly](accuracy.png)")
        w("")
        w("Details (medians over the repeats): *replies* = packets the prober's side of the veth received per "
          "probe (the answers on the wire, whether or not the tool reported them), *tool's own* = the rate the tool "
          "reports itself (synwatch: its summary, which includes waiting for the last replies; zmap: its "
          "`send ... avg`; masscan: its status line), *packets to the fleet per probe* = what the fleet side of "
          "the veth received per probe: the SYN, the prober kernel's reset of each SYN-ACK (half the endpoints "
          "are open: 0.5) and whatever else the tool sends; *machine busy* = share of both CPUs busy during the "
          "run, everything included (the tool, the fleet, the kernel's packet work, and any other work on the "
          "machine, which skews the figures: compare the run's busy share with its neighbours').")
        w("")
        w("| tool | requested | probes/s | tool's own | replies | packets to the fleet per probe | machine busy | open found | closed found | wrong | missing | exit |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for tool in TOOLS:
            for rate in rates:
                rs = g.get((tool, rate), [])
                if not rs:
                    continue
                w(f"| {tool} | {rate} | {fmt_rate(median([r['wire_rate'] for r in rs]))} | "
                  f"{fmt_rate(median([r['self_rate'] for r in rs]))} | {fmt_pct(median([r['replies_pct'] for r in rs]), 1)} | "
                  f"{fmt_num(median([r['fleet_rx'] / r['probes'] if r.get('fleet_rx') and r['probes'] else None for r in rs]), 2)} | "
                  f"{spread([r.get('machine_busy') for r in rs], lambda x: f'{x:.0f} %')} | "
                  f"{median([r['open_ok'] for r in rs]):.0f} | {median([r['closed_ok'] for r in rs]):.0f} | "
                  f"{median([r['wrong'] for r in rs]):.0f} | {median([r['missing'] for r in rs]):.0f} | "
                  f"{','.join(sorted({str(r['rc']) for r in rs}))} |")
        w("")
        sws = [r for r in runs if r["tool"] == "synwatch"]
        if sws:
            w("synwatch's own counters, summed over all its section-1 runs: " + ", ".join(
                f"{k.replace('_', ' ')} {sum(r['notes'].get(k, 0) for r in sws)}"
                for k in ("send_errors", "bad_cookie", "stale", "duplicate", "approx_rtt", "pcap_dropped",
                          "pcap_ifdrops", "res_filtered")) + ".")
            w("")

        # ---- section 2
        w("## 2. CPU cost")
        w("")
        want = read_text(os.path.join(out, "cpu_rate.txt")).strip() or "100000"
        cpu_rate = want if want in rates else (rates[len(rates) // 2] if rates else None)
        w(f"User + system CPU seconds of the tool's process (all its threads; `/usr/bin/time`) per million probes, "
          f"at the same requested rate, {cpu_rate}{'' if cpu_rate == 'max' else ' probes/s'}, over the whole run (start-up, send phase, the "
          "wait for replies). The kernel work of delivering the replies is charged to whatever runs on the CPU "
          "at the time, mostly the sender (the veth delivers in the sender's softirq): the figures include much "
          "of the fleet's side too, the same way for all three tools.")
        w("")
        w("| tool | probes/s | user s | system s | wall s | CPU s per million probes |")
        w("| --- | --- | --- | --- | --- | --- |")
        cpu_dat = []
        for tool in TOOLS:
            rs = g.get((tool, cpu_rate), [])
            if not rs:
                continue
            c = median([r["cpu_per_m"] for r in rs])
            cpu_dat.append((tool, c))
            w(f"| {tool} | {fmt_rate(median([r['wire_rate'] for r in rs]))} | {fmt_num(median([r['user'] for r in rs]), 2)} | "
              f"{fmt_num(median([r['sys'] for r in rs]), 2)} | {fmt_num(median([r['wall'] for r in rs]), 2)} | "
              f"{spread([r['cpu_per_m'] for r in rs], lambda x: fmt_num(x, 2))} |")
        w("")
        w("![CPU seconds per million probes](cpu.png)")
        w("")
    else:
        for title in ("## 1. Throughput and accuracy", "## 2. CPU cost"):
            w(title)
            w("")
            w("not measured: section 1 was not run (BENCH_SECTIONS).")
            w("")
        cpu_dat = []

    # ---- section 3
    w("## 3. RTT accuracy")
    w("")
    if rtt:
        sw = rtt["synwatch"]
        cap = rtt["capture"]
        tr = rtt["truth"]
        w(f"Fleet: {tr.get('open', 0)} kernel-open endpoints and {tr.get('slow', 0)} slow ones behind the "
          "responder (fixed delays), all on port 80. synwatch scanned them once at about half its maximum "
          f"rate ({fmt_rate(sw.get('self_rate'))} probes/s by its summary; `--retries 0`) while "
          "`tcpdump -j host --time-stamp-precision nano` captured the prober's veth in the prober namespace. "
          "Each SYN in the capture is paired with the reply acknowledging its ISN + 1, and the RTT from "
          "tcpdump's stamps is compared with synwatch's `rtt_us` for the same endpoint.")
        w("")
        w(f"- synwatch: {rtt['results']} results ({', '.join(f'{k} {v}' for k, v in rtt['states'].items())}), "
          f"exit {rtt['synwatch_rc']}; approximate rtt {rtt['approx']}, pcap dropped {sw.get('pcap_dropped')}, "
          f"interface drops {sw.get('pcap_ifdrops')}.")
        w(f"- tcpdump: {cap.get('received_by_filter')} packets received by its filter, {cap.get('captured')} "
          f"captured, {cap.get('dropped_by_kernel')} dropped by the kernel; {cap['syns']} SYNs, {cap['replies']} "
          f"replies, {cap['pairs']} pairs; {rtt['unmatched']} synwatch RTTs without a pair in the capture.")
        busy = machine_busy(os.path.join(out, "s3", "scan.cpu"))
        try:
            pre = int(open(os.path.join(out, "s3", "scan.pre")).read().strip())
        except (OSError, ValueError):
            pre = None
        if busy is not None:
            w(f"- the machine was {pre if pre is not None else '?'} % busy just before the scan and {busy:.0f} % "
              "during it (both CPUs, everything included).")
        w("")
        w("| endpoints | compared | p50 \\|error\\| | p99 \\|error\\| | max \\|error\\| | median signed error |")
        w("| --- | --- | --- | --- | --- | --- |")
        for label, e in (("kernel open", rtt["error"].get("open", {})), ("slow (responder)", rtt["error"].get("slow", {})),
                         ("all", rtt["error_all"])):
            if e.get("n"):
                w(f"| {label} | {e['n']} | {e['p50']:.3f} µs | {e['p99']:.3f} µs | {e['max']:.3f} µs | "
                  f"{e['signed_median']:+.3f} µs |")
        ea = rtt["error_all"]
        if ea.get("n"):
            verdict = "met" if ea["p99"] <= 50 else "**missed**"
            w("")
            w(f"Target p99 \\|error\\| <= 50 µs: {verdict} ({ea['p99']:.3f} µs). Error = synwatch − tcpdump. "
              f"Kernel-open RTT itself: p50 {fmt_num(rtt['kernel_rtt_us']['p50'])} µs, "
              f"p99 {fmt_num(rtt['kernel_rtt_us']['p99'])} µs.")
        w("")
        w("![|synwatch − tcpdump| CDF](rtt_error.png)")
        w("")
        w("Slow endpoints against the delay the responder was programmed with (excess = measured RTT − delay; "
          "the responder answers within about 0.1 ms of its due time, docs/fleet.md):")
        w("")
        w("| delay | endpoints | synwatch median excess | synwatch p99 excess | synwatch min excess | tcpdump median excess |")
        w("| --- | --- | --- | --- | --- | --- |")
        for s in rtt["slow"]:
            w(f"| {s['spec']} | {s['n']} | {fmt_num(s['sw_excess_median_us'])} µs | {fmt_num(s['sw_excess_p99_us'])} µs | "
              f"{fmt_num(s['sw_excess_min_us'])} µs | {fmt_num(s['td_excess_median_us'])} µs |")
        w("")
        w("The same slow endpoints with other tools, three probes each, one endpoint at a time (hping3 "
          "`-S -p 80 -c 3`, nping `--tcp -p 80 -c 3`, synwatch `--once` three times at 100 probes/s), next to "
          "the scan's value for that endpoint (synwatch and tcpdump). In ms.")
        w("")
        w("| endpoint | delay | scan: synwatch | scan: tcpdump | synwatch ×3 | hping3 ×3 | nping min / avg / max |")
        w("| --- | --- | --- | --- | --- | --- | --- |")

        def lst(v):
            return " ".join(f"{x:.3f}" for x in v) if v else "–"
        for h in rtt["handful"]:
            n = (f"{h['nping_min_ms']:.3f} / {h['nping_avg_ms']:.3f} / {h['nping_max_ms']:.3f}"
                 if h["nping_avg_ms"] is not None else "–")
            w(f"| {h['endpoint']} | {h['spec']} | {fmt_num(h['scan_ms'], 3)} | {fmt_num(h['tcpdump_ms'], 3)} | "
              f"{lst(h['synwatch_low_ms'])} | {lst(h['hping3_ms'])} | {n} |")
        w("")
    else:
        w("not measured: section 3 did not produce data (see the bench log).")
        w("")

    # ---- 4, 5 and the rest: markdown written by bench/bench-*.sh and bench/soak.sh
    for part in ("rate.md", "s4.md", "s5.md", "checks.md", "soak.md", "tls.md", "checker-tls.md", "exporter.md"):
        text = read_text(os.path.join(out, part)).strip()
        if text:
            w(text)
            w("")

    # ---- observations, computed
    w("## Observations")
    w("")
    obs = []
    tops = [(median([r["wire_rate"] for r in g.get(("synwatch", rate), [])]), rate) for rate in rates]
    tops = [t for t in tops if t[0]]
    swmax, swstep = max(tops) if tops else (None, None)
    if swmax and cm:
        obs.append(f"synwatch's highest rate (median of a step; step `{swstep}`) was {swmax:,.0f} probes/s on the "
                   f"wire, {100 * swmax / cm:.0f} % of the bare raw-socket sendmmsg ceiling ({cm:,.0f}) measured in "
                   "the same run" + (f", {100 * swmax / clm:.0f} % of the packet-socket one ({clm:,.0f})." if clm else "."))
    for tool in TOOLS:
        bad = [r for r in runs if r["tool"] == tool and r["correct"] < N_ENDPOINTS]
        if bad and tool == "synwatch":
            for r in bad:
                n = r["notes"]
                obs.append(f"synwatch below 100 % at step `{r['rate']}` repeat {r['rep']}: {r['correct_pct']:.3f} % "
                           f"({r['missing']} missing, {r['wrong']} wrong); its summary: sent {n.get('sent')}, "
                           f"replies {n.get('replies')}, filtered {n.get('res_filtered')}, pcap dropped "
                           f"{n.get('pcap_dropped')}, interface drops {n.get('pcap_ifdrops')}; the veth received "
                           f"{r['wire_rx']} packets for {r['probes']} probes.")
    capm = median([c["wire_rate"] for c in ceil if c["set"] == "cap"])
    if swmax and capm and cm:
        obs.append(f"The likely limit of synwatch here is the cost of its own capture: the bare sendmmsg loop falls "
                   f"from {cm:,.0f} to {capm:,.0f} probes/s when a tcpdump with synwatch's filter (our outgoing SYNs "
                   "and the replies, immediate mode) runs beside it, and synwatch's highest rate "
                   f"({swmax:,.0f}) is {100 * swmax / capm:.0f} % of that. On veth the packet-socket copies run in "
                   "the sending thread's softirq, on the sender's CPU. zmap captures only the replies; synwatch "
                   "also captures its own SYNs leaving, for exact RTTs (docs/timestamps.md).")
    sw_rates = [(median([r["wire_rate"] for r in g.get(("synwatch", rate), [])]), rate) for rate in rates]
    sat = [f"`{rate}`: {x / 1000:.1f} k" for x, rate in sw_rates if x and rate != "max" and x < 0.9 * int(rate)]
    if sat:
        obs.append("synwatch sent slower than asked at " + ", ".join(sat) + " (median probes/s on the wire); it "
                   "never lost accuracy while doing so.")
    zm = [r for r in runs if r["tool"] == "zmap"]
    if zm:
        drop = sum(r["notes"].get("pcap_drop", 0) for r in zm)
        miss = sum(r["missing"] for r in zm)
        lowmiss = [r["missing"] for r in zm if r["notes"].get("pcap_drop", 0) == 0]
        obs.append(f"zmap's misses follow its own libpcap drops: over all its runs {miss} endpoints were missing and "
                   f"its metadata counts {drop} pcap drops; runs without any drop still missed "
                   f"{min(lowmiss) if lowmiss else 0}–{max(lowmiss) if lowmiss else 0} endpoints each.")
    ms = [r for r in runs if r["tool"] == "masscan"]
    if ms:
        per = median([r["fleet_rx"] / r["probes"] for r in ms if r.get("fleet_rx") and r["probes"]])
        others = median([r["fleet_rx"] / r["probes"] for r in runs
                         if r["tool"] != "masscan" and r.get("fleet_rx") and r["probes"]])
        share = median([r["wire_rate"] / r["rate_req"] for r in ms
                        if r["rate_req"] and r["wire_rate"] and r["rate_req"] <= 50000])
        if per and others and share:
            obs.append(f"masscan's `--rate` seems to count every packet it sends, also the resets it sends to the "
                       f"answers it processes (the fleet received {per:.2f} packets per probe from it, against "
                       f"{others:.2f} from synwatch and zmap): at 25k and 50k its SYNs left at "
                       f"{100 * share:.0f} % of the rate asked while its own status line showed the rate asked.")
        worst = min(ms, key=lambda r: r["correct_pct"])
        obs.append(f"masscan reported as few as {worst['correct_pct']:.1f} % of the endpoints (step `{worst['rate']}`) "
                   f"although the veth received {fmt_pct(worst['replies_pct'], 1)} replies per probe: the answers "
                   "were on the wire and its receive path lost them.")
    if rtt and rtt["error_all"].get("n"):
        ea = rtt["error_all"]
        obs.append(f"RTT error against tcpdump: p50 {ea['p50']:.3f} µs, p99 {ea['p99']:.3f} µs, max {ea['max']:.3f} µs "
                   f"over {ea['n']} endpoints; {rtt['approx']} approximate RTTs.")
        eo, es = rtt["error"].get("open", {}), rtt["error"].get("slow", {})
        if es.get("n") and eo.get("n") and es["max"] == 0 and eo["max"] > 0:
            obs.append("The responder's replies (from the TUN device) carry the same stamp in both captures to the "
                       "nanosecond; only the fleet kernel's own SYN-ACKs and resets differ (synwatch's stamp "
                       f"{-eo['signed_median']:.2f} µs earlier at the median, at most {eo['max']:.1f} µs). That fits "
                       "packets that cross the veth still carrying their sender's departure time (TCP's "
                       "monotonic EDT stamp), for which each packet socket takes its own wall-clock stamp as it "
                       "receives its copy, instead of one stamp at the device; a reply from a real NIC is "
                       "stamped once. A likely explanation, not verified in the kernel source here.")
    for o in obs:
        w(f"- {o}")
    w("")
    with open(os.path.join(benchdir, "results.md"), "w") as f:
        f.write("\n".join(L))

    # ---- plot data
    with open(os.path.join(out, "s1.dat"), "w") as f:
        f.write("# idx label " + " ".join(f"{t}_rate {t}_correct" for t in TOOLS) + "\n")
        for i, rate in enumerate(rates):
            cells = [str(i), "max" if rate == "max" else f"{int(rate) // 1000}k"]
            for tool in TOOLS:
                rs = g.get((tool, rate), [])
                r = median([x["wire_rate"] for x in rs])
                c = median([x["correct_pct"] for x in rs])
                cells += [f"{r / 1000:.3f}" if r else "NaN", f"{c:.4f}" if c is not None else "NaN"]
            f.write(" ".join(cells) + "\n")
    with open(os.path.join(out, "s1_runs.dat"), "w") as f:
        for tool in TOOLS:
            f.write(f"# {tool}: probes/s on the wire (thousands), correct %, one line per run\n")
            for r in runs:
                if r["tool"] == tool and r["wire_rate"]:
                    f.write(f"{r['wire_rate'] / 1000:.3f} {r['correct_pct']:.4f}\n")
            f.write("\n\n")
    with open(os.path.join(out, "cpu.dat"), "w") as f:
        for i, (tool, c) in enumerate(cpu_dat):
            f.write(f"{i} {tool} {c:.3f}\n" if c is not None else f"{i} {tool} NaN\n")
    gp = PLOTS_GP.replace("@BENCH@", benchdir).replace("@CEIL@", f"{cm / 1000:.3f}" if cm else "NaN")
    gp = gp.replace("@NRATES@", str(max(len(rates) - 1, 1)))
    # one block per plot, each kept only when its data exist (BENCH_SECTIONS may skip some)
    head, *blocks = gp.split("\nset output ")
    have = {"throughput": bool(runs), "accuracy": bool(runs), "cpu": bool(cpu_dat), "rtt_error": bool(rtt)}
    keep = [b for b in blocks if have.get(b.split(".png")[0].rsplit("/", 1)[-1], True)]
    with open(os.path.join(out, "plots.gp"), "w") as f:
        f.write(head + "".join("\nset output " + b for b in keep))


PLOTS_GP = r"""# written by bench/analyze.py; run in bench/out
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 760,440 font "DejaVu Sans,10"
} else {
    set terminal png size 760,440
}
set grid
set key top left
set style data linespoints

set output "@BENCH@/throughput.png"
set title "Probes per second on the wire (median of repeats), 131 068 endpoints"
set xlabel "requested probes/s"
set ylabel "achieved probes/s (thousands)"
set xrange [-0.3:@NRATES@+0.3]
set yrange [0:*]
set key bottom right
plot "s1.dat" using 1:3:xticlabels(2) title "synwatch" lw 2 pt 7, \
     "" using 1:5 title "zmap" lw 2 pt 5, \
     "" using 1:7 title "masscan" lw 2 pt 9, \
     @CEIL@ title "kernel ceiling (bare sendmmsg, raw IP socket)" with lines dt 2 lw 2 lc rgb "black"

set output "@BENCH@/accuracy.png"
set style data points
set multiplot layout 1,2 title "Endpoints classified correctly vs probes/s on the wire (every run)"
set xtics auto
set xrange [0:*]
set xlabel "achieved probes/s (thousands)"
set ylabel "correct (%)"
set yrange [0:100.5]
set title "full scale"
set key bottom left
plot "s1_runs.dat" index 0 using 1:2 title "synwatch" pt 7, "" index 1 using 1:2 title "zmap" pt 5, \
     "" index 2 using 1:2 title "masscan" pt 9
set title "zoom: 99 - 100 %"
set key bottom right
set yrange [99:100.05]
set ytics 0.1
plot "s1_runs.dat" index 0 using 1:2 title "synwatch" pt 7, "" index 1 using 1:2 title "zmap" pt 5, \
     99.9 title "99.9 %" with lines dt 2 lc rgb "gray"
unset multiplot
set style data linespoints
set ytics auto

set output "@BENCH@/rtt_error.png"
set title "|synwatch rtt - tcpdump rtt| for the same endpoint (CDF)"
set xlabel "|error| (µs, log scale)"
set ylabel "fraction of endpoints"
set logscale x
set xrange [0.0005:1000]
set yrange [0:1.02]
set key at 0.003, 0.8 left Left reverse
set arrow 1 from 50, graph 0 to 50, graph 1 nohead dt 2 lc rgb "black"
set label 1 "target: p99 <= 50 µs" at 50, graph 0.3 left offset 0.5,0
set label 2 "0 plotted at 0.001" at 0.0006, graph 0.95 left font ",8"
plot "s3/rtt_error_cdf.dat" index 0 using 1:2 title "kernel open" with steps lw 2, \
     "" index 1 using 1:2 title "slow (responder)" with steps lw 2 dt 2
unset logscale x
unset arrow 1
unset label 1
unset label 2

set output "@BENCH@/cpu.png"
set title "CPU seconds (user + system) per million probes, same requested rate"

set style fill solid 0.6 border -1
set boxwidth 0.6
set xlabel ""
set ylabel "CPU s per million probes"
set xrange [-0.6:2.6]
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
unset key
plot "cpu.dat" using 1:3:xticlabels(2) with boxes lc rgb "steelblue", \
     "" using 1:3:(sprintf("%.1f", $3)) with labels offset 0,0.8
"""


def main():
    a = sys.argv[1:]
    if not a:
        die("usage: analyze.py ceiling|run|halfmax|rtt|report ...")
    cmd, args = a[0], a[1:]
    if cmd == "run" and len(args) == 5:
        cmd_run(*args)
    elif cmd == "ceiling" and len(args) == 4:
        cmd_ceiling(*args)
    elif cmd == "progress" and len(args) == 1:
        r = load_jsonl(args[0])[-1]
        print(f"bench:   {r['tool']:<8} {r['rate']:>9}: {r['wire_rate'] or 0:7.0f} probes/s on the wire, "
              f"{r['correct_pct']:7.3f} % correct, rc {r['rc']}")
    elif cmd == "halfmax" and len(args) == 1:
        cmd_halfmax(*args)
    elif cmd == "rtt" and len(args) == 1:
        cmd_rtt(*args)
    elif cmd == "report" and len(args) == 2:
        cmd_report(*args)
    else:
        die(f"bad arguments for '{cmd}'; see the docstring")


if __name__ == "__main__":
    main()
