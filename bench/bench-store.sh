#!/bin/bash
# make bench, section 5, second part: the Redis store while probing. The
# cheapest endpoints there are (closed ports: one SYN, one RST, nothing
# kept by the fleet's kernel) in a block of HOSTS addresses x PORTS ports on
# a 1 s interval, so that the targets ask for more than 200,000 results a
# second; synwatch monitors them with Redis on (a private redis-server on a
# unix socket) as fast as the machine lets it. Measured over SECONDS after
# a warm-up: results/s into Redis (entries added to the results stream,
# counted by Redis), the probes sent (the prober's heartbeat), the backlog,
# and where the two CPUs went: each synwatch thread, redis-server, and the
# rest of the machine (the fleet's kernel work that is not charged to
# synwatch's threads).
# Prints a markdown section on stdout; raw data in $BENCH_OUT/store.
#
# Usage: bench/bench-store.sh [HOSTS_PREFIX] [PORTS] [SECONDS]   (root)
#   HOSTS_PREFIX: the block's prefix length within 198.18.0.0/16 (default 17)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"

prefix=${1:-17}
nports=${2:-7}
secs=${3:-30}
# the group's results: (all, changes, none: docs/config.md), BENCH_RESULTS
results=${BENCH_RESULTS:-all}
warm=15
out=${BENCH_OUT:-$top/bench/out}/store
py=$SW_PY

log() { echo "bench-store: $*" >&2; }

[ "$prefix" -ge 16 ] && [ "$prefix" -le 28 ] || sw_fail "HOSTS_PREFIX '$prefix': expected 16 to 28"
bench_setup "$out" bs
rm -f "$out"/*

size=$((1 << (32 - prefix)))
hosts=$((size - 2))
n=$((size * nports))
ports=$(seq -s, 10001 $((10000 + nports)))

sw_fleet_up "$name" --spec "closed=$hosts,ports=10001,layout=dense,default=closed" --truth "$out/truth.tsv"
sw_redis_up "$dir"
rcli() { redis-cli -s "$dir/r.sock" --raw "$@"; }
# each thread's name and CPU ticks (user + system), from
# /proc/PID/task/TID/stat: /proc/TID/stat, and so cpu_ticks TID, gives the
# whole process's
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s\t%s\n' "$(cat "$t/comm")" "$(awk '{ print $14 + $15 }' "$t/stat")"
	done 2> /dev/null
}

{
	printf 'location: bench\nrate: 1000000\nresults_maxlen: 1000000\n'
	printf 'defaults: { interval: 1s, timeout: 400ms, retries: 1, failures: 2, results: %s }\n' "$results"
	printf 'groups:\n  - name: fleet\n    hosts: [198.18.0.0/%s]\n    ports: [%s]\n' "$prefix" "$ports"
} > "$dir/store.yaml"

ip netns exec "swf-$name-p" "$SW_BIN/synwatch" -c "$dir/store.yaml" --redis "unix://$dir/r.sock" --output none \
	--no-latency --spill "$dir/spill.log" --per-host-rate 0 > /dev/null 2> "$out/synwatch.log" &
spid=$!
sw_cleanup_add "kill $spid 2>/dev/null"
sw_wait_for 30 grep -q "monitoring" "$out/synwatch.log" || sw_fail "synwatch did not start: $(tail -3 "$out/synwatch.log")"
rpid=$(sw_redis_pid "$dir")
log "$n closed endpoints on a 1 s interval; warming up $warm s"
sleep "$warm"
prober=synwatch:prober:$(rcli ZRANGE synwatch:probers -1 -1)

thread_ticks $spid > "$out/threads0.tsv"
r0=$(cpu_ticks "$rpid") b0=$(busy_ticks) x0=$(results_added "$dir/r.sock") w0=$(date +%s%N)
: > "$out/samples.tsv"
for _ in $(seq "$secs"); do
	sleep 1
	rcli HMGET "$prober" backlog sent_per_s | tr '\n' '\t' >> "$out/samples.tsv"
	echo >> "$out/samples.tsv"
done
thread_ticks $spid > "$out/threads1.tsv"
r1=$(cpu_ticks "$rpid") b1=$(busy_ticks) x1=$(results_added "$dir/r.sock") w1=$(date +%s%N)
rcli INFO memory | grep -E '^used_memory_human' > "$out/redis-mem.txt"
kill -TERM $spid
wait $spid 2> /dev/null
echo "$r0 $r1 $b0 $b1 $x0 $x1 $w0 $w1 $(getconf CLK_TCK)" > "$out/totals.txt"

"$py" - "$out" "$n" "$hosts" "$nports" "$prefix" "$secs" "$warm" "$results" << 'PY'
import sys
out, n, hosts, nports, prefix, secs, warm, retention = sys.argv[1:]
n, hosts, nports = int(n), int(hosts), int(nports)
r0, r1, b0, b1, x0, x1, w0, w1, hz = (int(v) for v in open(f"{out}/totals.txt").read().split())
wall = (w1 - w0) / 1e9
def threads(name):
    t = {}
    for line in open(f"{out}/{name}"):
        comm, ticks = line.rstrip("\n").split("\t")
        t[comm] = t.get(comm, 0) + int(ticks)
    return t
t0, t1 = threads("threads0.tsv"), threads("threads1.tsv")
cores = {k: (t1[k] - t0.get(k, 0)) / hz / wall for k in t1}
sw = sum(cores.values())
redis = (r1 - r0) / hz / wall
machine = (b1 - b0) / hz / wall
rest = machine - sw - redis
results = (x1 - x0) / wall
rows = [l.split("\t") for l in open(f"{out}/samples.tsv").read().splitlines()]
backlog = [int(r[0]) for r in rows if r and r[0].isdigit()]
sent = [int(r[1]) for r in rows if len(r) > 1 and r[1].isdigit()]
probes = sum(sent) / len(sent) if sent else 0
per_probe = lambda c: c * 1e6 / probes if probes else float("nan")
per_result = lambda c: c * 1e6 / results if results else float("nan")
sw_us = per_probe(sw)
print("### 5b. The store while probing\n")
print(f"{n:,} closed endpoints (198.18.0.0/{prefix}: {hosts + 2:,} addresses x {nports} ports; a closed port is the "
      f"cheapest answer a fleet gives: one SYN, one RST) on a 1 s interval: the targets ask for {n:,} results/s. "
      f"synwatch monitors them with Redis on a unix socket, as fast as the machine lets it. Measured over {secs} s "
      f"after {warm} s of warm-up (bench/bench-store.sh). A closed port gives one result a probe, so synwatch's CPU is "
      f"counted per probe sent and redis-server's per result written. The group has `results: {retention}`.\n")
print("| what | figure |\n| --- | --- |")
print(f"| results/s into Redis (entries added to `synwatch:results`, counted by Redis) | **{results:,.0f}** |")
print(f"| probes/s sent (heartbeat `sent_per_s`, mean) | {probes:,.0f} of the {n:,} asked for |")
print(f"| Redis backlog (heartbeat, each second) | {min(backlog) if backlog else '?'}..{max(backlog) if backlog else '?'} "
      f"records, last {backlog[-1] if backlog else '?'} |")
written = f"{per_result(redis):.2f} us a result written" if results else "no result written (results: changes)"
print(f"| redis-server | {redis:.2f} cores, {written}, "
      f"{per_probe(redis):.2f} us a probe sent (the two agree only while the backlog holds still) |")
order = ["synwatch", "sw-sender", "sw-capture", "sw-store", "sw-redis"]
names = [k for k in order if k in cores] + sorted(k for k in cores if k not in order)
parts = ", ".join(f"{k} {cores[k]:.2f} ({per_probe(cores[k]):.2f} us)" for k in names)
print(f"| synwatch, by thread (cores, us a probe; `synwatch` is the main thread: the scheduler; the sender's "
      f"includes the fleet's kernel work, done in its softirq) | {sw:.2f} cores, {sw_us:.2f} us a probe: {parts} |")
print(f"| the rest of the machine (the fleet's kernel work outside synwatch's threads, other programs) | "
      f"{rest:.2f} cores |")
print(f"| the whole machine | {machine:.2f} of 2 cores busy |")
# per probe: what a result costs Redis, whatever goes into the stream
need = 200000 * (sw_us + per_probe(redis)) / 1e6
print(f"| 200,000 results/s at these costs would take (Redis per probe sent) | {need:.1f} cores: synwatch "
      f"{200000 * sw_us / 1e6:.1f}, redis-server {200000 * per_probe(redis) / 1e6:.1f} |")
PY
