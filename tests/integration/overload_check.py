#!/usr/bin/python3
"""overload_check: what test_overload.sh asks of synwatch's NDJSON stream.

  overload_check.py TRUTH RESULTS RUN_MS STOP_MS DELAY_LO_MS DELAY_HI_MS RATE LATE_US

TRUTH is the fleet's truth file (slow endpoints only), RESULTS synwatch's
stdout, RUN_MS how long it ran before SIGINT, STOP_MS when SIGINT was sent
(ms since the epoch), DELAY_LO_MS..DELAY_HI_MS the responder's delays, RATE
the --rate cap, LATE_US how late the responder wrote its answers at most
(its counters). Checks:

- every line is whole JSON;
- every endpoint of the truth has at least one result, and no result names
  anything else (except the gateway canary, 198.19.255.2 port 0);
- every result is open (attempt 0 or 1, an RTT within the programmed delays:
  under DELAY_LO_MS plus the timeout: a reply matched to the wrong attempt
  or check shows a shorter one, or one at least a timeout longer; their
  median at most DELAY_HI_MS plus the responder's lateness, plus 20 ms) or
  filtered (no RTT; after the last attempt, also after SIGINT: checks in
  flight finish with their retransmissions);
- the overload was real and shared fairly: results per endpoint per second
  at most what the cap allows (RATE / endpoints, plus slack), under one per
  endpoint per second (the 1 s interval was stretched), and no endpoint
  starved.

Prints one summary line; on failure, what differs (up to 10 lines), exit 1.
"""
import calendar
import collections
import json
import sys
import time

CANARY = ("198.19.255.2", 0)
RETRIES = 1
# The responder answers a delay late by scheduling noise (~0.1 ms idle, tens
# of ms on a busy 2-core machine): LATE_US, from its counters, which do not
# see how long a SYN waited for it to read it (a stall delays a burst of
# answers by 100 ms and more). A reply matched to the wrong attempt is far
# off: to a later SYN, shorter than the delays; to an earlier one, at least
# the 400 ms timeout longer. So each RTT must lie in [DELAY_LO, DELAY_LO +
# timeout) (exactness), and the median at most DELAY_HI plus the lateness
# plus a little (precision on the whole).
RTT_PATH_SLACK_MS = 20.0
TIMEOUT_MS = 400.0
# the stamps: pcap's wall clock; the responder's delay: its own clock
RTT_FLOOR_SLACK_MS = 1.0


def rfc3339_ms(ts):
    # "2026-12-07T19:33:04.550533704Z" -> ms since the epoch
    day, _, frac = ts.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + int(frac[:3].ljust(3, "0"))


def main():
    truth_path, results_path = sys.argv[1:3]
    run_ms, stop_ms, lo_ms, hi_ms, rate, late_us = (float(a) for a in sys.argv[3:9])
    rtts = []
    truth = set()
    with open(truth_path) as f:
        for line in f:
            if line.startswith("ip\t") or not line.strip():
                continue
            ip, port = line.split("\t")[:2]
            truth.add((ip, int(port)))
    count = collections.Counter()
    by = collections.Counter()
    rtt_min, rtt_max = float("inf"), 0.0
    bad = []
    with open(results_path) as f:
        for n, line in enumerate(f, 1):
            try:
                o = json.loads(line)
            except ValueError:
                bad.append(f"line {n} is not whole JSON: {line[:120]!r}")
                continue
            if o.get("type") != "result":
                continue
            key = (o.get("ip"), o.get("port"))
            if key == CANARY and o.get("group") == "canary":
                continue
            if key not in truth:
                bad.append(f"line {n}: a result for {key}, not an endpoint of the fleet")
                continue
            count[key] += 1
            state, attempt, rtt = o.get("state"), o.get("attempt"), o.get("rtt_us")
            by[(state, attempt)] += 1
            where = f"line {n}: {key[0]}:{key[1]}"
            if state == "open":
                if attempt not in range(RETRIES + 1):
                    bad.append(f"{where}: open at attempt {attempt}")
                elif rtt is None:
                    bad.append(f"{where}: open without an rtt")
                else:
                    ms = rtt / 1000.0
                    rtt_min, rtt_max = min(rtt_min, ms), max(rtt_max, ms)
                    rtts.append(ms)
                    if ms < lo_ms - RTT_FLOOR_SLACK_MS or ms >= lo_ms + TIMEOUT_MS:
                        bad.append(f"{where}: open with rtt {ms:.3f} ms, the responder waits "
                                   f"{lo_ms:g}-{hi_ms:g} ms: matched to another attempt's SYN "
                                   f"(attempt {attempt})")
            elif state == "filtered":
                if rtt is not None:
                    bad.append(f"{where}: filtered with an rtt ({rtt})")
                if attempt != RETRIES:
                    bad.append(f"{where}: filtered at attempt {attempt} at {o['ts']}, before the "
                               f"retransmission ({RETRIES} retry)")
            else:
                bad.append(f"{where}: state {state!r} (error: {o.get('error')!r}), want open or filtered")
    if rtts:
        med = sorted(rtts)[len(rtts) // 2]
        if med > hi_ms + late_us / 1000.0 + RTT_PATH_SLACK_MS:
            bad.append(f"median open rtt {med:.1f} ms, over the {hi_ms:g} ms delays plus the "
                       f"{late_us / 1000.0:.1f} ms the responder was late plus {RTT_PATH_SLACK_MS:g} ms")
    missing = sorted(truth - set(count))
    if missing:
        bad.append(f"{len(missing)} of {len(truth)} endpoints have no result, e.g. "
                   + ", ".join(f"{ip}:{port}" for ip, port in missing[:5]))
    total = sum(count.values())
    per = sorted(count.values()) or [0]
    run_s = run_ms / 1000.0
    per_s = total / len(truth) / run_s
    cap_per_s = rate / len(truth)
    # the cap's share plus 10 % (the rate limiter holds within a few %)
    if per_s > cap_per_s * 1.10:
        bad.append(f"{per_s:.3f} results per endpoint per second, over what --rate {rate:g} allows "
                   f"for {len(truth)} endpoints ({cap_per_s:.3f})")
    if per[-1] >= run_s:
        bad.append(f"an endpoint has {per[-1]} results in {run_s:.1f} s: the 1 s interval was not stretched")
    # stretched about x2 here: each endpoint every ~2 s; a quarter of that is starved
    if per[0] < run_s / 8:
        bad.append(f"an endpoint has only {per[0]} results in {run_s:.1f} s: not shared fairly")
    states = ", ".join(f"{s} attempt {a}: {c}" for (s, a), c in sorted(by.items()))
    print(f"overload: {total} results for {len(truth)} endpoints in {run_s:.1f} s, "
          f"{per_s:.3f} per endpoint per second (cap {cap_per_s:.3f}); per endpoint "
          f"min {per[0]} median {per[len(per) // 2]} max {per[-1]}; {states}; "
          f"open rtt {rtt_min:.1f}-{rtt_max:.1f} ms (the responder at most {late_us / 1000.0:.1f} ms late)")
    for b in bad[:10]:
        print("  " + b)
    if len(bad) > 10:
        print(f"  ... and {len(bad) - 10} more")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
