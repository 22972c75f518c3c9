#!/usr/bin/python3
"""Asserts service-check verdicts in synwatch NDJSON output.

usage: checks_check.py EXPECT RESULTS... [--show]

EXPECT has one line per endpoint: ADDR:PORT, then assertions separated by
blanks (shell quoting, as shlex splits it):

  syn=STATE        the endpoint's SYN result says STATE (open, closed...)
  nocheck          no line of type check for the endpoint
  FIELD=VALUE      the first check line's FIELD is exactly VALUE (true,
                   false, a whole number or a string)
  FIELD~REGEX      str(FIELD) matches REGEX from its start (re.match)
  FIELD=LO..HI     FIELD is a number in [LO, HI]
  FIELD?           FIELD is present;  !FIELD: absent

Every endpoint named must have a SYN result; one that has no nocheck must
have a check line. With several RESULTS files (a --once run and a
monitoring run) the lines of all of them count; a monitoring run checks a
port more than once, and the first check line is the one asserted. --show
prints that line for each endpoint. Exit 1 on any mismatch.
"""
import json
import re
import shlex
import sys


def parse_value(text):
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


def endpoint_of(obj):
    ip = obj.get("ip", "")
    return f"[{ip}]:{obj.get('port')}" if ":" in ip else f"{ip}:{obj.get('port')}"


def judge(ep, asserts, results, checks):
    bad = []
    res = results.get(ep)
    chk = checks.get(ep)
    if not res:
        return [f"{ep}: no SYN result"]
    for a in asserts:
        if a.startswith("syn="):
            if res[0]["state"] != a[4:]:
                bad.append(f"{ep}: SYN result {res[0]['state']}, want {a[4:]}")
            continue
        if a == "nocheck":
            if chk:
                bad.append(f"{ep}: a check line, want none: {json.dumps(chk[0])}")
            continue
        if not chk:
            bad.append(f"{ep}: no check line (want {a})")
            break
        c = chk[0]
        if a.startswith("!"):
            if a[1:] in c:
                bad.append(f"{ep}: {a[1:]} present ({c[a[1:]]!r}), want none")
            continue
        if a.endswith("?"):
            if a[:-1] not in c:
                bad.append(f"{ep}: no {a[:-1]}")
            continue
        m = re.fullmatch(r"([a-z_]+)([=~])(.*)", a, re.S)
        if not m:
            bad.append(f"{ep}: cannot read the assertion '{a}'")
            continue
        field, op, want = m.groups()
        if field not in c:
            bad.append(f"{ep}: no {field} (want {op}{want!r})")
            continue
        got = c[field]
        rng = re.fullmatch(r"(-?[0-9]+)\.\.(-?[0-9]+)", want) if op == "=" else None
        if rng:
            lo, hi = int(rng.group(1)), int(rng.group(2))
            if not isinstance(got, int) or not lo <= got <= hi:
                bad.append(f"{ep}: {field} {got!r}, want {lo}..{hi}")
        elif op == "=":
            if got != parse_value(want):
                bad.append(f"{ep}: {field} {got!r}, want {parse_value(want)!r}")
        elif not re.match(want, str(got)):
            bad.append(f"{ep}: {field} {got!r}, want a match of /{want}/")
    return bad


def main():
    args = sys.argv[1:]
    show = "--show" in args
    args = [a for a in args if a != "--show"]
    expect_path, paths = args[0], args[1:]
    results, checks = {}, {}
    for path in paths:
        with open(path) as f:
            for line in f:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue  # a line being written when the run was stopped
                kind = obj.get("type")
                if kind == "result":
                    results.setdefault(endpoint_of(obj), []).append(obj)
                elif kind == "check":
                    checks.setdefault(endpoint_of(obj), []).append(obj)
    bad = []
    n = 0
    with open(expect_path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            words = shlex.split(line)
            ep, asserts = words[0], words[1:]
            n += 1
            bad += judge(ep, asserts, results, checks)
            if show:
                seen = checks.get(ep) or results.get(ep) or [{}]
                print(f"  {ep}: {json.dumps(seen[0], separators=(',', ':'))}")
    for b in bad:
        print("  " + b)
    print(f"checks: {n} endpoints asserted, {len(bad)} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
