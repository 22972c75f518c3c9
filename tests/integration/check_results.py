#!/usr/bin/python3
"""Compares synwatch NDJSON results with a fleet ground-truth file.

usage: check_results.py TRUTH RESULTS [--kinds open,closed,...] [--late-us N] [--timeout-ms T]

Every truth endpoint of a checked kind must have exactly one result with the
expected state (unreachable: also the ICMP code; slow: open with an RTT of at
least the programmed fixed delay, under that plus the probe timeout
--timeout-ms: more is a reply measured against an earlier attempt's stamp;
and over all slow endpoints, a median excess over the delay of at most the
responder's own lateness, --late-us, plus 10 ms); no result may name an endpoint outside
the truth. Prints the mismatches and a summary line; exit 1 on any mismatch.
"""
import json
import sys

# a responder answers a fixed delay late by scheduling noise (~0.1 ms idle,
# tens of ms on a busy machine: --late-us, from its counters, which do not
# see how long a SYN waited for it to read it: a stall of the responder on a
# loaded machine delays a burst of answers by 100 ms and more). So one RTT
# is bounded by what a wrong match would show (the timeout), the median by
# the lateness plus 10 ms: precision on the whole, exactness for each.
SLOW_SLACK_MS = 10.0

EXPECT = {"open": "open", "closed": "closed", "filtered": "filtered", "unreach": "unreachable",
          "slow": "open"}


def parse_delay_ms(spec):
    # "fixed:20ms" -> 20.0 ; anything else -> None
    for part in spec.split(","):
        if part.startswith("fixed:"):
            v = part[6:]
            for unit, mult in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
                if v.endswith(unit):
                    return float(v[: -len(unit)]) * mult
    return None


def main():
    args = sys.argv[1:]
    kinds = set(EXPECT)
    if "--kinds" in args:
        i = args.index("--kinds")
        kinds = set(args[i + 1].split(","))
        del args[i:i + 2]
    late_ms = 0.0
    timeout_ms = None
    if "--timeout-ms" in args:
        i = args.index("--timeout-ms")
        timeout_ms = float(args[i + 1])
        del args[i:i + 2]
    if "--late-us" in args:
        i = args.index("--late-us")
        late_ms = float(args[i + 1]) / 1000.0
        del args[i:i + 2]
    truth_path, results_path = args
    truth = {}
    with open(truth_path) as f:
        for line in f:
            if line.startswith("ip\t") or not line.strip() or line.startswith("#"):
                continue
            ip, port, kind, code, delay = line.rstrip("\n").split("\t")[:5]
            truth[(ip, int(port))] = (kind, code, delay)
    seen = {}
    bad = []
    with open(results_path) as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)
            if obj.get("type") != "result":
                continue
            key = (obj["ip"], obj["port"])
            if key not in truth:
                bad.append(f"result for an endpoint not in the truth: {key}")
                continue
            if key in seen:
                bad.append(f"two results for {key}")
            seen[key] = obj
    checked = 0
    excess = []
    for key, (kind, code, delay) in sorted(truth.items()):
        if kind not in kinds:
            continue
        checked += 1
        obj = seen.get(key)
        if obj is None:
            bad.append(f"{key[0]}:{key[1]} ({kind}): no result")
            continue
        want = EXPECT.get(kind)
        if want and obj["state"] != want:
            bad.append(f"{key[0]}:{key[1]} ({kind}): got {obj['state']}, want {want}")
            continue
        if kind == "unreach" and code not in ("-", "") and str(obj.get("icmp_code")) != code:
            bad.append(f"{key[0]}:{key[1]}: icmp code {obj.get('icmp_code')}, want {code}")
        if want in ("open", "closed", "unreachable") and obj.get("rtt_us") is None:
            bad.append(f"{key[0]}:{key[1]}: {want} without an rtt")
        if kind == "slow":
            ms = parse_delay_ms(delay)
            if ms is not None and obj["rtt_us"] / 1000.0 < ms:
                bad.append(f"{key[0]}:{key[1]}: rtt {obj['rtt_us']} us below the programmed {ms} ms")
            elif ms is not None and timeout_ms is not None and obj["rtt_us"] / 1000.0 >= ms + timeout_ms:
                bad.append(f"{key[0]}:{key[1]}: rtt {obj['rtt_us']} us, the programmed {ms} ms plus the "
                           f"{timeout_ms:g} ms timeout or more: measured against an earlier attempt's SYN")
            elif ms is not None:
                excess.append(obj["rtt_us"] / 1000.0 - ms)
    if excess:
        med = sorted(excess)[len(excess) // 2]
        if med > late_ms + SLOW_SLACK_MS:
            bad.append(f"slow endpoints: median RTT {med:.1f} ms over the programmed delay, more than the "
                       f"{late_ms:.1f} ms the responder was late + {SLOW_SLACK_MS} ms")
    for b in bad[:30]:
        print("  " + b)
    if len(bad) > 30:
        print(f"  ... and {len(bad) - 30} more")
    print(f"check: {checked} endpoints checked, {len(bad)} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
