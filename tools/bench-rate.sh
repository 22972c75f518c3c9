#!/bin/bash
# make bench: how exactly --rate is held. For each rate, synwatch --once
# probes rate x 12 s worth of fleet endpoints while tcpdump (nanosecond
# stamps) records its SYNs on the prober's veth; every 1-second window that
# starts at a SYN (the first and last second left out: start and drain) is
# counted. Target: within +-2 % of the rate in every window. Prints a
# markdown section on stdout.
#
# Usage: tools/bench-rate.sh [RATE...]   (root; default 100 1000 10000 50000 100000)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SW_BIN:-$top/build}
py=/usr/bin/python3
rates=("$@")
[ ${#rates[@]} -eq 0 ] && rates=(100 1000 10000 50000 100000)
name=br$(printf '%04d' $(($$ % 10000)))
dir=$(mktemp -d /tmp/synwatch-br.XXXXXX)
fleet() { SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tools/fleet" "$@"; }
trap 'fleet down --name "$name" > /dev/null 2>&1; rm -rf "$dir"' EXIT
fleet up --name "$name" --spec "closed=1,ports=80" --truth "$dir/truth.tsv" > /dev/null || exit 1
pns=swf-$name-p
echo "## Rate accuracy"
echo
echo "synwatch \`--once --retries 0\` over closed fleet endpoints (198.18.0.0/16 x ports), its SYNs"
echo "recorded by tcpdump on the prober's veth; every 1-second window starting at a SYN, the first"
echo "and last second left out. Target: every window within ±2 % of the rate."
echo
echo "| --rate | seconds | SYNs | windows | min per s | max per s | worst deviation | within ±2 % |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for r in "${rates[@]}"; do
	n=$((r * 12))
	ports=$(((n + 65535) / 65536))
	prefix=16
	while [ $prefix -lt 30 ] && [ $(((1 << (32 - prefix - 1)) * ports)) -ge "$n" ]; do prefix=$((prefix + 1)); done
	ip netns exec "$pns" tcpdump -i "swf${name}p" -nn -q --time-stamp-precision nano -w "$dir/syn-$r.pcap" \
		"tcp[13] == 2 and src portrange 61000-61999" > /dev/null 2>&1 &
	tpid=$!
	sleep 1
	ip netns exec "$pns" timeout 60 "$bin/synwatch" --once --rate "$r" --retries 0 --timeout 500ms \
		--per-host-rate 0 --max-targets 10000000 --yes -p "1-$ports" "198.18.0.0/$prefix" --output none -q 2> /dev/null
	sleep 1
	kill $tpid
	wait $tpid 2> /dev/null
	ip netns exec "$pns" tcpdump -nn -tt -r "$dir/syn-$r.pcap" 2> /dev/null | awk '{ print $1 }' > "$dir/ts-$r.txt"
	"$py" - "$dir/ts-$r.txt" "$r" << 'PY'
import sys
ts = [float(l) for l in open(sys.argv[1]) if l.strip()]
r = int(sys.argv[2])
if len(ts) < 3:
    print(f"| {r:,} | - | {len(ts)} | - | - | - | - | no data |")
    sys.exit()
t0, t1 = ts[0] + 1.0, ts[-1] - 1.0
counts, j = [], 0
for i, t in enumerate(ts):
    if t < t0 or t + 1.0 > t1:
        continue
    while j < len(ts) and ts[j] < t + 1.0:
        j += 1
    counts.append(j - i)
if not counts:
    print(f"| {r:,} | {ts[-1] - ts[0]:.1f} | {len(ts):,} | 0 | - | - | - | too short |")
    sys.exit()
lo, hi = min(counts), max(counts)
dev = max(abs(lo - r), abs(hi - r)) * 100.0 / r
print(f"| {r:,} | {ts[-1] - ts[0]:.1f} | {len(ts):,} | {len(counts):,} | {lo:,} | {hi:,} | {dev:.2f} % | "
      f"{'yes' if dev <= 2.0 else '**no**'} |")
PY
done
