#!/bin/bash
# make bench: how exactly --rate is held. For each rate, synwatch --once
# probes rate x 12 s worth of closed fleet endpoints while bench/txsample
# reads the prober veth's tx_packets every millisecond (the prober's side
# sends nothing but the SYNs: the fleet answers each with an RST, which the
# prober's kernel does not answer; no ARP and no IPv6 on that link either).
# Every 1-second window starting at a sample (the first and last second left
# out: start and drain) is counted.
# Target: within +-2 % of the rate in every window. The counter costs a
# pread per millisecond; a packet capture (tcpdump) of the same SYNs costs
# the machine about half its send rate (bench/results.md, the kernel
# ceiling), so it would measure itself. Prints a markdown section on stdout.
#
# Usage: bench/bench-rate.sh [RATE...]   (root; default 100 1000 10000 50000 75000 100000)
# TXSAMPLE: the sampler (built from bench/txsample.c when unset).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SW_BIN:-$top/build}
py=/usr/bin/python3
rates=("$@")
[ ${#rates[@]} -eq 0 ] && rates=(100 1000 10000 50000 75000 100000)
name=br$(printf '%04d' $(($$ % 10000)))
dir=$(mktemp -d /tmp/synwatch-br.XXXXXX)
fleet() { SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tests/fleet/fleet" "$@"; }
trap 'fleet down --name "$name" > /dev/null 2>&1; rm -rf "$dir"' EXIT
txsample=${TXSAMPLE:-}
if [ -z "$txsample" ]; then
	txsample=$dir/txsample
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$txsample" "$top/bench/txsample.c" || exit 1
fi
fleet up --name "$name" --spec "closed=1,ports=80" --truth "$dir/truth.tsv" > /dev/null || exit 1
pns=swf-$name-p
# Nothing but the SYNs on the counter: the gateway's address resolved for
# good (no ARP), no IPv6 on the link (no router solicitations, MLD reports).
ip -n "$pns" neigh replace 198.19.255.2 lladdr 02:53:57:46:00:02 dev "swf${name}p" nud permanent || exit 1
ip netns exec "$pns" sysctl -qw "net.ipv6.conf.swf${name}p.disable_ipv6=1" || exit 1
sleep 1
echo "## Rate accuracy"
echo
echo "synwatch \`--once --retries 0\` over closed fleet endpoints (198.18.0.0/16 x ports), its SYNs"
echo "counted on the wire: the prober veth's tx_packets, read every millisecond (bench/txsample.c);"
echo "every 1-second window starting at a sample, the first and last second left out (a window ends"
echo "between two samples: *min* is the smallest count a window can have had, *max* the largest). Target:"
echo "every window within ±2 % of the rate. *busy*: the whole machine's CPU use during the run (2 cores)."
echo
echo "| --rate | seconds | SYNs | windows | min per s | max per s | worst deviation | within ±2 % | busy |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
for r in "${rates[@]}"; do
	n=$((r * 12))
	ports=$(((n + 65535) / 65536))
	prefix=16
	while [ $prefix -lt 30 ] && [ $(((1 << (32 - prefix - 1)) * ports)) -ge "$n" ]; do prefix=$((prefix + 1)); done
	ip netns exec "$pns" "$txsample" "swf${name}p" 1000 > "$dir/tx-$r.txt" 2> /dev/null &
	tpid=$!
	sleep 0.5
	c0=$(cpu_ticks)
	ip netns exec "$pns" timeout 60 "$bin/synwatch" --once --rate "$r" --retries 0 --timeout 500ms \
		--per-host-rate 0 --max-targets 10000000 --yes -p "1-$ports" "198.18.0.0/$prefix" --output none -q 2> /dev/null
	c1=$(cpu_ticks)
	sleep 0.5
	kill $tpid
	wait $tpid 2> /dev/null
	busy=$(echo "$c0 $c1" | awk '{ d = $4 - $2; printf "%.0f %%", (d > 0 ? 100 * ($3 - $1) / d : 0) }')
	"$py" - "$dir/tx-$r.txt" "$r" "$busy" << 'PY'
import sys
r, busy = int(sys.argv[2]), sys.argv[3]
# samples: T_NS TX RX, one per millisecond where a counter moved
s = [tuple(int(x) for x in l.split()[:2]) for l in open(sys.argv[1]) if l.strip()]
# the send phase: from the sample before the first SYN to the last rise
base = s[0][1] if s else 0
rise = [i for i in range(1, len(s)) if s[i][1] != s[i - 1][1]]
if len(rise) < 3:
    print(f"| {r:,} | - | - | - | - | - | - | no data | {busy} |")
    sys.exit()
first, last = rise[0] - 1, rise[-1]
sent = s[last][1] - s[first][1]
t_start, t_end = s[first][0], s[last][0]
t0, t1 = t_start + 10**9, t_end - 10**9
# A window [t_i, t_i + 1 s] ends between two samples, j (at or before its
# end) and j + 1 (after): it holds at least tx_j - tx_i SYNs and at most
# tx_j+1 - tx_i. With a sample every millisecond the two differ by a
# millisecond's SYNs; when the sampler itself was held up (a busy machine)
# they differ more, and only what is certain counts against the rate: the
# fewest SYNs a window can have held is its upper bound, the most its lower.
counts, j = [], first
for i in range(first, last + 1):
    t = s[i][0]
    if t < t0 or t + 10**9 > t1:
        continue
    while j + 1 <= last and s[j + 1][0] <= t + 10**9:
        j += 1
    hi_j = j + 1 if j + 1 <= last else j
    counts.append((s[j][1] - s[i][1], s[hi_j][1] - s[i][1]))
secs = (t_end - t_start) / 1e9
if not counts:
    print(f"| {r:,} | {secs:.1f} | {sent:,} | 0 | - | - | - | too short | {busy} |")
    sys.exit()
lo, hi = min(c[1] for c in counts), max(c[0] for c in counts)
dev = max(r - lo, hi - r, 0) * 100.0 / r
print(f"| {r:,} | {secs:.1f} | {sent:,} | {len(counts):,} | {lo:,} | {hi:,} | {dev:.2f} % | "
      f"{'yes' if dev <= 2.0 else '**no**'} | {busy} |")
PY
done
