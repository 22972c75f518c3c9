#!/usr/bin/python3
"""quorum_check: the events of P events as lines, for test_quorum.sh.

  quorum_check.py events SOCKET PREFIX
      one line per entry, oldest first:
      KIND<TAB>LOCATION<TAB>TARGET or IP<TAB>FROM<TAB>TO<TAB>LOCATIONS_DOWN<TAB>REASON
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import Redis, stream  # noqa: E402


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "events":
        sys.exit(__doc__)
    r = Redis(sys.argv[2])
    for f in stream(r, sys.argv[3] + "events"):
        what = f.get("target") or f.get("ip", "")
        print("\t".join([f.get("kind", ""), f.get("location", ""), what, f.get("from", ""),
                         f.get("to", ""), f.get("locations_down", ""), f.get("reason", "")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
