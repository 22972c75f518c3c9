#!/usr/bin/python3
"""Checks for tests/integration/test_consumers.sh: what synwatch-exporter
serves, against the fixture's expectations (consumers_fixture.py --expect).

  consumers_check.py metrics FILE EXPECT     the Prometheus text, parsed strictly
  consumers_check.py summary FILE EXPECT     /api/summary
  consumers_check.py targets FILE EXPECT     /api/targets?state=down
  consumers_check.py target FILE EXPECT      /api/target?t=<the tricky target>
  consumers_check.py dom-overview FILE EXPECT  the page's DOM after its scripts ran
  consumers_check.py dom-target FILE EXPECT

Prints "ok: ..." lines; exits 1 with "FAIL: ..." at the first problem.
"""
import html.parser
import json
import math
import re
import sys

METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
TRICKY_NAME = 'db "primary" \\ eu'
TRICKY_NOTE = 'line1\nline2 "q" \\ end'


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def parse_labels(s, pos, line):
    """Parses {a="x",b="y"} starting at s[pos] == '{'; returns (dict, next pos)."""
    labels = {}
    pos += 1
    while True:
        if s[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(s, pos)
        check(m, "bad label name at %d: %r" % (pos, line))
        name = m.group(0)
        pos = m.end()
        check(s[pos:pos + 2] == '="', "expected =\" after %s: %r" % (name, line))
        pos += 2
        val = []
        while True:
            c = s[pos]
            if c == "\\":
                e = s[pos + 1]
                check(e in '\\"n', "bad escape \\%s in %r" % (e, line))
                val.append({"\\": "\\", '"': '"', "n": "\n"}[e])
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                check(c != "\n", "raw newline in a label value")
                val.append(c)
                pos += 1
        check(name not in labels, "label %s twice in %r" % (name, line))
        labels[name] = "".join(val)
        if s[pos] == ",":
            pos += 1
        else:
            check(s[pos] == "}", "expected , or } at %d: %r" % (pos, line))


HISTO_BOUNDS_US = [50 << k for k in range(19)]  # store/histo.h


def parse_prom(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}}; fails on anything invalid."""
    families = {}
    seen = set()
    current = None
    check(text.endswith("\n"), "the exposition must end with a newline")
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, rest = line[2:6], line[7:]
            name, _, arg = rest.partition(" ")
            check(METRIC.fullmatch(name), "bad metric name in %r" % line)
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if kind == "TYPE":
                check(arg in TYPES, "bad type in %r" % line)
                check(fam["type"] is None and not fam["samples"], "TYPE after samples or twice: %r" % line)
                fam["type"] = arg
            else:
                check(fam["help"] is None, "HELP twice: %r" % line)
                fam["help"] = arg
            check(current is None or current == name or not families[name]["samples"],
                  "family %s interleaved" % name)
            current = name
            continue
        check(line and not line.startswith("#"), "stray line %r" % line)
        m = METRIC.match(line)
        check(m, "bad sample line %r" % line)
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line, pos, line)
        check(line[pos] == " ", "expected a space before the value: %r" % line)
        parts = line[pos + 1:].split(" ")
        check(1 <= len(parts) <= 2, "bad value part: %r" % line)
        v = parts[0]
        check(v in ("NaN", "+Inf", "-Inf") or re.fullmatch(r"-?[0-9.]+(e[+-]?[0-9]+)?", v), "bad value %r" % line)
        value = float(v)
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        fam_name = name if name in families else base
        check(fam_name in families, "sample %s without TYPE/HELP" % name)
        check(current == fam_name, "sample %s outside its family block" % name)
        key = (name, tuple(sorted(labels.items())))
        check(key not in seen, "duplicate series %r" % (key,))
        seen.add(key)
        families[fam_name]["samples"].append((name, labels, value))
    return families


def series(fams, name):
    check(name in families_seen(fams), "no metric %s" % name)
    return fams[name]["samples"]


def families_seen(fams):
    return set(fams)


def cmd_metrics(text, ex):
    fams = parse_prom(text)
    print("ok: %d families, %d samples, every line valid" % (len(fams), sum(len(f["samples"]) for f in fams.values())))
    check(series(fams, "synwatch_up")[0][2] == 1, "synwatch_up is not 1")
    states = ex["states"]
    every = {(t, l): s for t, per in states.items() for l, s in per.items()}
    # per-target series for the groups the probers name in metrics_per_target
    # (a target without a state hash, unknown here, has no group): exactly those
    pt = set(ex["per_target"])
    pairs = {k: s for k, s in every.items() if s != "unknown" and ex["target_group"][k[0]] in pt}
    check(0 < len(pairs) < len(every), "the fixture should have targets of both kinds: %d of %d" % (len(pairs), len(every)))
    check(series(fams, "synwatch_exporter_per_target_rows")[0][2] == len(pairs),
          "synwatch_exporter_per_target_rows: %s, want %d" % (series(fams, "synwatch_exporter_per_target_rows")[0][2], len(pairs)))
    # one synwatch_target_state per (target, location) of those, with its state
    got = {(lb["target"], lb["location"]): lb["state"] for _, lb, v in series(fams, "synwatch_target_state")}
    check(got == pairs, "synwatch_target_state differs: %s" % sorted(set(got.items()) ^ set(pairs.items()))[:6])
    ps = {(lb["target"], lb["location"]): v for _, lb, v in series(fams, "probe_success")}
    for (t, l), s in every.items():
        if (t, l) not in pairs:
            check((t, l) not in ps, "probe_success for %s %s (%s, group %s: not per target)" %
                  (t, l, s, ex["target_group"][t]))
        else:
            want = 1 if s in ("up", "degraded") else 0
            check(ps.get((t, l)) == want, "probe_success %s %s: %s, want %s" % (t, l, ps.get((t, l)), want))
    for _, lb, _ in series(fams, "probe_duration_seconds"):
        check((lb["target"], lb["location"]) in pairs, "probe_duration_seconds for %s: not per target" % lb["target"])
    print("ok: probe_success and synwatch_target_state for the %d (target, location) pairs of groups %s, none for "
          "the other %d" % (len(pairs), ",".join(sorted(pt)), len(every) - len(pairs)))
    # every group, per target or not: targets by state, and the handshake histogram
    gt = {(lb["location"], lb["group"], lb["state"]): v for _, lb, v in series(fams, "synwatch_group_targets")}
    want = {(l, g, st): n for l, per in ex["groups"].items() for g, c in per.items() for st, n in c.items()}
    check(gt == want, "synwatch_group_targets differs: %s" % sorted(set(gt.items()) ^ set(want.items()))[:6])
    check(fams["synwatch_handshake_duration_seconds"]["type"] == "histogram", "the handshake histogram's type")
    hs = series(fams, "synwatch_handshake_duration_seconds")
    bounds = ["%g" % (b / 1e6) for b in HISTO_BOUNDS_US] + ["+Inf"]
    for loc, fields in ex["histos"].items():
        for g in {f.split(":", 1)[1] for f in fields}:
            buckets = [(lb["le"], v) for n, lb, v in hs
                       if n.endswith("_bucket") and lb["location"] == loc and lb["group"] == g]
            check(["%g" % float(le) if le != "+Inf" else le for le, _ in buckets] == bounds,
                  "histogram %s %s: le %r" % (loc, g, [le for le, _ in buckets]))
            cum = 0
            for (le, v), b in zip(buckets, [str(b) for b in HISTO_BOUNDS_US] + ["inf"]):
                cum += fields.get(b + ":" + g, 0)
                check(v == cum, "histogram %s %s le=%s: %s, want %s" % (loc, g, le, v, cum))
            one = {n: v for n, lb, v in hs if not n.endswith("_bucket") and lb["location"] == loc and lb["group"] == g}
            check(one["synwatch_handshake_duration_seconds_count"] == fields["count:" + g] == cum,
                  "histogram %s %s count %r" % (loc, g, one))
            check(abs(one["synwatch_handshake_duration_seconds_sum"] - fields["sum_us:" + g] / 1e6) < 1e-6,
                  "histogram %s %s sum %r, want %s" % (loc, g, one, fields["sum_us:" + g] / 1e6))
    print("ok: synwatch_group_targets for every (location, group, state), and the handshake histograms "
          "(%d buckets, cumulative, +Inf = count, sum) of %d (location, group)" %
          (len(bounds), sum(len({f.split(":", 1)[1] for f in fl}) for fl in ex["histos"].values())))
    for _, lb, v in series(fams, "probe_duration_seconds"):
        check(0 < v < 10, "probe_duration_seconds out of range: %s" % v)
    # labels: fixed ones, the target's own, sanitized and escaped
    tricky = [lb for _, lb, _ in series(fams, "probe_success") if lb.get("name") == TRICKY_NAME]
    check(len(tricky) == 2, "the tricky target's name did not survive escaping: %r" %
          [lb.get("name") for _, lb, _ in series(fams, "probe_success")][:8])
    lb = tricky[0]
    check(lb.get("note") == TRICKY_NOTE, "label note: %r" % lb.get("note"))
    check(lb.get("rack_id") == "r-7", "label rack.id not sanitized to rack_id: %r" % lb)
    check(lb.get("team") == "dba" and lb.get("criticality") == "critical", "target labels missing: %r" % lb)
    ip, port = lb["target"].rsplit(":", 1)
    check(lb["ip"] == ip and lb["port"] == port and lb["group"] == "web", "ip/port/group labels: %r" % lb)
    print("ok: labels escaped and sanitized (name with quotes and backslash, note with a newline, rack.id)")
    counts = {(lb["location"], lb["state"]): v for _, lb, v in series(fams, "synwatch_targets")}
    for loc, c in ex["counts"].items():
        for st, n in c.items():
            if st != "all":
                check(counts.get((loc, st)) == n, "synwatch_targets %s %s: %s, want %s" % (loc, st, counts.get((loc, st)), n))
    print("ok: synwatch_targets per location and state")
    up = {lb["prober"]: v for _, lb, v in series(fams, "synwatch_prober_up")}
    for p in ex["probers"]:
        check(up.get(p["id"]) == (1 if p["alive"] else 0), "synwatch_prober_up %s: %s" % (p["id"], up.get(p["id"])))
    ov = {lb["prober"]: v for _, lb, v in series(fams, "synwatch_prober_overloaded")}
    bl = {lb["prober"]: v for _, lb, v in series(fams, "synwatch_prober_redis_backlog_records")}
    for p in ex["probers"]:
        if p["alive"]:
            check(ov[p["id"]] == (1 if p["overloaded"] else 0), "overloaded %s" % p["id"])
            check(bl[p["id"]] == p["backlog"], "backlog %s" % p["id"])
    check(fams["synwatch_prober_pcap_drops_total"]["type"] == "counter", "pcap drops should be a counter")
    check(series(fams, "synwatch_prober_replies_rejected_total"), "no rejected replies metric")
    print("ok: prober metrics (up, overloaded, backlog, drops, rejected)")
    # the service checks: one series per (target, location) with a check
    want = {(t, l): c for t, per in ex.get("checks", {}).items() for l, c in per.items()}
    got = {(lb["target"], lb["location"]): (lb["check"], v) for _, lb, v in series(fams, "probe_check_success")}
    for k, c in want.items():
        passed = c["check_ok"] == "1" and c["check_verdict"] not in ("check_failed", "cert_unverified", "cert_expired")
        check(got.get(k) == (c["check"], 1 if passed else 0), "probe_check_success %s: %r, want %r" %
              (k, got.get(k), (c["check"], passed)))
    check(len(got) == len(want), "probe_check_success for targets without a check: %r" % sorted(set(got) - set(want)))
    exp = {(lb["target"], lb["location"]): v for _, lb, v in series(fams, "probe_ssl_earliest_cert_expiry")}
    certs = {k: int(c["cert_not_after"]) for k, c in want.items() if c.get("cert_not_after")}
    check(exp == certs, "probe_ssl_earliest_cert_expiry: %r" % sorted(set(exp.items()) ^ set(certs.items()))[:4])
    ver = {lb["version"] for _, lb, _ in series(fams, "probe_tls_version_info")}
    check(ver == {"TLS 1.3"} and len(series(fams, "probe_tls_version_info")) == len(certs), "tls versions %r" % ver)
    print("ok: probe_check_success, probe_ssl_earliest_cert_expiry and probe_tls_version_info for %d checked pairs"
          % len(want))


def cmd_summary(text, ex):
    s = json.loads(text)
    check(s["redis"]["ok"] and s["redis"]["schema"], "redis not ok: %r" % s["redis"])
    check(s["locations"] == ex["locations"], "locations %r" % s["locations"])
    for loc, c in ex["counts"].items():
        check(s["by_location"][loc] == c, "by_location %s: %r, want %r" % (loc, s["by_location"][loc], c))
    check(s["targets"] == len(ex["states"]), "targets %s" % s["targets"])
    rank = ["down", "flapping", "degraded", "unknown", "up"]
    worst = {}
    for t, per in ex["states"].items():
        worst[t] = min(per.values(), key=rank.index)
    for st in rank:
        check(s["counts"][st] == sum(1 for w in worst.values() if w == st), "overall %s: %s" % (st, s["counts"][st]))
    check(len(s["events"]) >= 10 and s["events"][0]["kind"], "events: %r" % s["events"][:1])
    check(any(e["kind"] == "host_down" for e in s["events"]), "no host_down event in the summary")
    ids = {p["id"]: p for p in s["probers"]}
    for p in ex["probers"]:
        check(ids[p["id"]]["alive"] == p["alive"], "prober %s alive" % p["id"])
        # the live ones' heartbeats are as old as the fixture: ok or late
        want = {"gone"} if not p["alive"] else {"ok", "late"}
        check(ids[p["id"]]["status"] in want, "prober %s status %r" % (p["id"], ids[p["id"]]["status"]))
        check(abs(ids[p["id"]]["last_seen"] + ids[p["id"]]["heartbeat_age_s"] - s["now"]) < 0.01,
              "prober %s last_seen %r" % (p["id"], ids[p["id"]]["last_seen"]))
    if ex.get("checks"):
        checked = ex["checks"]
        failing = [t for t, per in checked.items() if any(c["check_ok"] == "0" for c in per.values())]
        expiring = [t for t, per in checked.items() if any(c["check_verdict"] == "cert_expiring" for c in per.values())]
        want = {"checked": len(checked), "failing": len(failing), "certs_expiring": len(expiring), "certs_expired": 0,
                "certs": sum(1 for per in checked.values() if any(c.get("cert_not_after") for c in per.values()))}
        check(s["checks"] == want, "checks %r, want %r" % (s["checks"], want))
    print("ok: /api/summary (counts per location and overall, the checks, probers, events)")


def cmd_targets(text, ex):
    r = json.loads(text)
    want = sorted([t, loc] for loc, downs in ex["down"].items() for t, _ in downs)
    got = sorted([row["target"], row["location"]] for row in r["rows"])
    check(got == want, "down rows %r, want %r" % (got, want))
    check(r["total"] == len(want), "total %s" % r["total"])
    since = [row["since"] for row in r["rows"]]
    check(since == sorted(since), "down rows not longest first: %r" % since)
    print("ok: /api/targets?state=down: %d rows, longest down first" % len(want))


def cmd_target(text, ex):
    r = json.loads(text)
    check(r["name"] == TRICKY_NAME, "name %r" % r["name"])
    check(r["labels"].get("note") == TRICKY_NOTE, "labels %r" % r["labels"])
    locs = {l["location"]: l["state"] for l in r["locations"]}
    check(locs == ex["states"][r["target"]], "states %r" % locs)
    lat = r["latency"]
    check(lat["columns"][:6] == ["t", "n", "lost", "p50_us", "p95_us", "p99_us"], "columns %r" % lat["columns"])
    check(len(lat["merged"]) >= 1400, "merged minutes: %d" % len(lat["merged"]))
    for loc in ex["locations"]:
        check(len(lat["by_location"][loc]) >= 1400, "%s minutes: %d" % (loc, len(lat["by_location"][loc])))
    # merging locations adds samples exactly
    m = {row[0]: row for row in lat["merged"]}
    for row in lat["by_location"][ex["locations"][0]][-5:]:
        other = {r2[0]: r2 for r2 in lat["by_location"][ex["locations"][1]]}.get(row[0])
        if other:
            check(m[row[0]][1] == row[1] + other[1], "merged n at %d" % row[0])
    for row in lat["merged"]:
        if row[1]:
            check(row[3] <= row[4] <= row[5] <= row[6] + 1e-6, "quantiles not ordered: %r" % row)
    s = lat["summary"][0]
    check(s[1] > 1000 and s[3] <= s[4] <= s[5], "summary %r" % s)
    check(len(r["events"]) >= 1 and all(e.get("target") == r["target"] for e in r["events"]), "events %r" % r["events"])
    print("ok: /api/target: states per location, 24 h of minutes merged exactly, summary, events")


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []
        self.elems = []

    def handle_starttag(self, tag, attrs):
        self.elems.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def dom(text):
    d = Dom()
    d.feed(text)
    return d, " ".join(" ".join(d.text).split())


def cmd_dom_overview(text, ex):
    d, words = dom(text)
    cards = {a.get("data-state"): a for t, a in d.elems if "card" in (a.get("class") or "")}
    check(set(cards) >= {"down", "degraded", "up", "flapping", "unknown", "all"}, "cards: %r" % list(cards))
    rank = ["down", "flapping", "degraded", "unknown", "up"]
    n_down = sum(1 for per in ex["states"].values() if min(per.values(), key=rank.index) == "down")
    check(re.search(r"Down %d " % n_down, words), "the Down card does not show %d: %s" % (n_down, words[:300]))
    rows = [a.get("data-target") for t, a in d.elems if t == "tr" and a.get("data-target")]
    first_down = ex["down"][ex["locations"][0]][0][0]
    check(first_down in rows, "no row for %s in %r" % (first_down, rows[:10]))
    check("fra1/probe-a" in words and "overloaded" in words, "probers panel")
    alarm = [a for t, a in d.elems if a.get("id") == "prober-alarm"]
    check(alarm and "hidden" not in alarm[0], "the gone prober's alarm is hidden: %r" % alarm)
    check(re.search(r"Prober fra1/probe-old is gone: no heartbeat for 20m \d\ds \(last [\d:]+\); "
                    r"fra1 still has 1 live prober", words), "no gone prober alarm: %s" % words[:400])
    check("host down" in words, "events panel has no host down")
    if ex.get("checks"):
        # the marks beside a row's state: a failing check, a certificate running out
        marks = " ".join(" ".join(d.text).split())
        check("postgres ✗" in marks and "cert 5d" in marks, "no check marks in the table: %s" % words[:600])
        check("Service checks" in words and "1 failing" in words, "no checks bar: %s" % words[:600])
    print("ok: rendered overview: state cards with counts, a row for %s, probers, events" % first_down)


def cmd_dom_target(text, ex):
    d, words = dom(text)
    canvas = [a for t, a in d.elems if t == "canvas"]
    check(canvas and canvas[0].get("id") == "latency-chart", "no latency chart canvas")
    pts = int(canvas[0].get("data-points") or 0)
    check(pts >= 1400, "the chart drew %d points" % pts)
    check(canvas[0].get("data-series") == "p50,p95,p99", "series %r" % canvas[0].get("data-series"))
    locs = [a.get("data-location") for t, a in d.elems if a.get("data-location")]
    check(sorted(locs) == ex["locations"], "location cards %r" % locs)
    check(TRICKY_NAME in words, "the name is not shown as text: %s" % words[:200])
    print("ok: rendered target page: chart with %d points (p50, p95, p99), a card per location" % pts)


def main():
    cmds = {"metrics": cmd_metrics, "summary": cmd_summary, "targets": cmd_targets, "target": cmd_target,
            "dom-overview": cmd_dom_overview, "dom-target": cmd_dom_target}
    if len(sys.argv) != 4 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    with open(sys.argv[3]) as f:
        ex = json.load(f)
    cmds[sys.argv[1]](text, ex)


if __name__ == "__main__":
    main()
