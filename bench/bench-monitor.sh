#!/bin/bash
# make bench, section 4: monitoring at scale. A fleet of TARGETS endpoints
# (65,534 hosts of 198.18.0.0/16 x 16 ports, 15 open and 1 closed per host
# by default: 1,048,544), one group on a 10 s interval, Redis on (a private
# redis-server on a unix socket). Measured: how long the config takes to load,
# the achieved cycle time (from the probes sent, the prober's heartbeat)
# and the share of targets in the right state (from Redis), results/s into
# Redis (entries added to the results stream, counted by Redis itself), the
# backlog, and the CPU synwatch, redis-server and everything else on the
# machine used; then, without Redis, the memory per target: the slope of RSS
# between two runs at the same probe rate (every target of the block at
# 10 s, a quarter of them at 2.5 s), so that the buffers sized by the rate
# or fixed (pcap, rings) cancel instead of counting as per target.
# Prints a markdown section on stdout; raw data in $BENCH_OUT/monitor.
#
# Usage: bench/bench-monitor.sh [HOSTS] [PORTS_PER_HOST] [SECONDS]   (root)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
py=$SW_PY
hosts=${1:-65534}
nports=${2:-16}
secs=${3:-60}
out=${BENCH_OUT:-$top/bench/out}/monitor
log() { echo "bench-monitor: $*" >&2; }

bench_setup "$out" bm
rcli() { redis-cli -s "$dir/r.sock" --raw "$@"; }

ports=$(seq -s+ 10001 $((10000 + nports)))
open_n=$((hosts * (nports - 1)))
closed_n=$hosts
sw_fleet_up "$name" --truth "$out/truth.tsv" --seed 1 --spec "open=$open_n,closed=$closed_n,ports=$ports,layout=dense"
n=$((open_n + closed_n))
sw_redis_up "$dir"
rpid=$(sw_redis_pid "$dir")

# the config: the fleet's block with every port; CIDR and port list expand to all endpoints
write_cfg() { # FILE HOSTS-SPEC [INTERVAL]
	printf 'location: bench\nrate: 150000\nresults_maxlen: 2000000\n' > "$1"
	printf 'defaults: { interval: %s, timeout: 1s, retries: 1, failures: 2 }\n' "${3:-10s}" >> "$1"
	printf 'groups:\n  - name: fleet\n    hosts: [%s]\n    ports: [%s]\n' "$2" "$(seq -s, 10001 $((10000 + nports)))" >> "$1"
}
# the smallest block that holds the fleet's hosts (dense from 198.18.0.1)
prefix=16
while [ $prefix -lt 30 ] && [ $(((1 << (32 - prefix - 1)) - 2)) -ge "$hosts" ]; do prefix=$((prefix + 1)); done
write_cfg "$dir/big.yaml" "198.18.0.0/$prefix"
write_cfg "$dir/small.yaml" "198.18.0.0/26"
# a quarter of the block at a quarter of the interval: the same probes/s
write_cfg "$dir/quarter.yaml" "198.18.0.0/$((prefix + 2))" 2.5s
n_cfg=$(((1 << (32 - prefix)) * nports))
n_quarter=$((n_cfg / 4))

run_synwatch() { # CONFIG LOG
	ip netns exec "swf-$name-p" "$SW_BIN/synwatch" -c "$1" --redis "unix://$dir/r.sock" --output none \
		--spill "$dir/spill.log" --per-host-rate 0 > /dev/null 2> "$2" &
	spid=$!
	sw_cleanup_add "kill $spid 2>/dev/null"
}

# baseline RSS: the same program with 64 x 16 targets
run_synwatch "$dir/small.yaml" "$out/small.log"
sleep 8
base_rss=$(rss_kb $spid)
kill -TERM $spid
wait $spid 2> /dev/null
rcli FLUSHALL > /dev/null

t0=$(date +%s%N)
run_synwatch "$dir/big.yaml" "$out/big.log"
for _ in $(seq 600); do grep -q "monitoring" "$out/big.log" && break; sleep 0.05; done
t1=$(date +%s%N)
load_ms=$(((t1 - t0) / 1000000))
log "$n targets loaded in $load_ms ms; warming up 30 s"
sleep 30
prober=synwatch:prober:$(rcli ZRANGE synwatch:probers -1 -1)
load0=$(cut -d' ' -f1 /proc/loadavg)
c0=$(cpu_ticks $spid) r0=$(cpu_ticks $rpid) b0=$(busy_ticks) x0=$(results_added "$dir/r.sock") w0=$(date +%s%N)
samples=() sent=() over=0
for _ in $(seq "$secs"); do
	sleep 1
	read -r bl sp ov < <(rcli HMGET "$prober" backlog sent_per_s overloaded | tr '\n' ' ')
	samples+=("$bl")
	sent+=("$sp")
	[ "$ov" = 1 ] && over=1
done
c1=$(cpu_ticks $spid) r1=$(cpu_ticks $rpid) b1=$(busy_ticks) x1=$(results_added "$dir/r.sock") w1=$(date +%s%N)
load1=$(cut -d' ' -f1 /proc/loadavg)
echo "${sent[*]}" > "$out/sent.txt"
echo "$over $load0 $load1 $((b1 - b0))" > "$out/machine.txt"
rss=$(rss_kb $spid)
hz=$(getconf CLK_TCK)
# states from the idx sets, against the fleet's truth
rcli ZRANGE synwatch:idx:bench:up 0 -1 > "$out/up.txt"
rcli ZRANGE synwatch:idx:bench:down 0 -1 > "$out/down.txt"
kill -TERM $spid
wait $spid 2> /dev/null
echo "${samples[*]}" > "$out/backlog.txt"

# the issue's measure: steady-state memory per target without Redis and
# without latency history (the backlog and the minute aggregation are
# buffers of the output, not of the targets). The marginal cost of a
# target is the slope between two runs that ask for the same probes/s:
# the pcap buffer, the rings and the in-flight state then fill alike in
# both and cancel, where against a small idle baseline they would count as
# per target. --mem-report itemises both kinds in the logs.
plain_rss() { # CONFIG LOG
	ip netns exec "swf-$name-p" "$SW_BIN/synwatch" -c "$1" --output none --no-latency --mem-report --per-host-rate 0 \
		> /dev/null 2> "$2" &
	local p=$!
	sleep 40
	rss_kb $p
	kill -TERM $p
	wait $p 2> /dev/null
}
plain_quarter=$(plain_rss "$dir/quarter.yaml" "$out/plain-quarter.log")
plain_big=$(plain_rss "$dir/big.yaml" "$out/plain-big.log")
echo "$plain_quarter $plain_big" > "$out/plain.txt"

"$py" - "$out" "$n_cfg" "$load_ms" "$base_rss" "$hosts" "$nports" "$rss" "$((c1 - c0))" "$((r1 - r0))" "$hz" "$((w1 - w0))" "$x0" "$x1" "$secs" "$n_quarter" << 'PY'
import re, sys
out, n, load_ms, base, hosts, nports, rss, cpu, rcpu, hz, wall_ns, x0, x1, secs, n_quarter = sys.argv[1:]
hosts, nports = int(hosts), int(nports)
n = int(n); wall = int(wall_ns) / 1e9
# the block's network and broadcast addresses are targets too (answered by
# the fleet kernel: closed); the fleet's truth covers the hosts
truth = {}
for l in open(f"{out}/truth.tsv"):
    f = l.split("\t")
    if f[0] != "ip":
        truth[f"{f[0]}:{f[1]}"] = f[2]
up = set(open(f"{out}/up.txt").read().split())
down = set(open(f"{out}/down.txt").read().split())
right = sum(1 for k, v in truth.items() if (v == "open" and k in up) or (v == "closed" and k in down))
right += sum(1 for k in down if k not in truth)  # network and broadcast addresses: closed

results_s = (int(x1) - int(x0)) / wall
sent = [int(x) for x in open(f"{out}/sent.txt").read().split() if x.isdigit()]
probes_s = sum(sent) / len(sent) if sent else 0
over, load0, load1, busy = open(f"{out}/machine.txt").read().split()
backlog = [int(b) for b in open(f"{out}/backlog.txt").read().split() if b.isdigit()]
per_target = (int(rss) - int(base)) * 1024 / max(1, n - 64 * nports)  # baseline: 64 hosts
def mark(ok):
    return "yes" if ok else "**no**"
print(f"## 4. Monitoring at scale\n")
print(f"{n:,} targets: the fleet's {hosts:,} hosts x {nports} ports (one closed per host, the rest open) plus the "
      f"block's network and broadcast addresses, on a 10 s interval, one group, Redis on a unix socket; measured "
      f"over {secs} s after 30 s of warm-up.\n")
print("| what | figure | target met |\n| --- | --- | --- |")
print(f"| config load (start to monitoring) | {int(load_ms) / 1000:.2f} s | {mark(int(load_ms) < 2000)} (under 2 s) |")
pq, pb = (int(x) for x in open(f"{out}/plain.txt").read().split())
nq = int(n_quarter)
def report(name):
    """The --mem-report line at exit and the achieved probes/s of a plain run."""
    text = open(f"{out}/{name}").read()
    m = re.findall(r"memory at exit: (\d+) targets: ([\d.]+) bytes per target in per-target arrays \(([\d.]+) MiB\): "
                   r"(.*?); buffers ([\d.]+) MiB: (.*?); malloc", text)
    pps = re.findall(r"([\d]+) probes/s\n", text)
    return (m[-1] if m else None), (int(pps[-1]) if pps else 0)
rq, ppsq = report("plain-quarter.log")
rb, ppsb = report("plain-big.log")
# the targets the daemon watched (the config's plus the gateway canary)
nb_live = int(rb[0]) if rb else n
nq_live = int(rq[0]) if rq else nq
plain = (pb - pq) * 1024 / max(1, nb_live - nq_live)
print(f"| memory per target, steady state, no Redis, no latency history | {plain:.0f} bytes = (RSS {pb / 1024:.1f} MiB "
      f"with {nb_live:,} targets at 10 s - RSS {pq / 1024:.1f} MiB with {nq_live:,} at 2.5 s) / {nb_live - nq_live:,}, "
      f"both after 40 s; both runs ask for the same probes/s (they sent {ppsb:,} and {ppsq:,}/s), so the fixed and "
      f"rate-sized buffers below fill alike and cancel | {mark(plain <= 200)} (at most 200) |")
if rb:
    print(f"| ... of which per-target arrays (allocated, --mem-report) | {float(rb[1]):.1f} bytes: {rb[3]} | |")
    print(f"| buffers, not per target (allocated, --mem-report) | {float(rb[4]):.1f} MiB with all the targets, "
          f"{float(rq[4]) if rq else float('nan'):.1f} MiB with a quarter: {rb[5]} (sched.queues holds the checks "
          f"waiting for the sender: it grows with the targets while the rate cannot keep up) | |")
print(f"| memory per target with Redis, during the run | {per_target:.0f} bytes (RSS {int(rss) / 1024:.0f} MiB, "
      f"baseline {int(base) / 1024:.0f} MiB with 64 hosts; includes the Redis backlog held in memory, the minute "
      f"aggregation and the buffers above, which the idle baseline does not fill) | |")
# the probes sent (heartbeat, once a second) set the cycle; what reaches
# Redis is measured on its own below
cycle = n / probes_s if probes_s else float("inf")
print(f"| achieved cycle time | {cycle:.1f} s for every target once ({probes_s:,.0f} probes/s sent, from the heartbeat's "
      f"sent_per_s; intervals stretched for overload: {'yes' if over == '1' else 'no'}) | {mark(cycle <= 10.5)} (10 s) |")
print(f"| targets in the right state | {right:,} of {n:,} = {100.0 * right / n:.2f} % | {mark(right == n)} (100 %) |")
print(f"| results/s into Redis (measured: entries added to `synwatch:results`, XINFO STREAM) | {results_s:,.0f} | "
      f"{mark(results_s >= 0.98 * probes_s)} (all the results probed) |")
print(f"| Redis backlog | {min(backlog) if backlog else '?'}..{max(backlog) if backlog else '?'} records, last {backlog[-1] if backlog else '?'} | {mark(bool(backlog) and backlog[-1] <= backlog[0] * 1.05 + 1000)} (no growth over the window) |")
other = (int(busy) - int(cpu) - int(rcpu)) / int(hz) / wall
rus = int(rcpu) / int(hz) / max(1, int(x1) - int(x0)) * 1e6
print(f"| CPU | synwatch {int(cpu) / int(hz) / wall:.2f} cores, redis-server {int(rcpu) / int(hz) / wall:.2f} cores "
      f"({rus:.2f} us a result written), the rest of the machine {other:.2f} cores (the fleet's kernel work outside "
      f"synwatch's threads, other programs), of 2; load average {load0} at the start, {load1} at the end | |")
PY
