#!/bin/bash
# The soak (make bench, not CI): continuous monitoring of a namespace fleet
# with flapping, lossy and slow endpoints for SOAK_MINUTES (default 30),
# writing to a private redis-server (appendonly) and to NDJSON at once; in
# the middle redis-server is SIGKILLed and restarted on the same socket.
# Measured: RSS and open file descriptors over time (growth after warm-up),
# and that every result the NDJSON sink printed is in Redis exactly once.
# Prints one markdown section for bench/results.md on stdout; details and
# raw samples go to $SOAK_OUT (default bench/out/soak).
#
# Usage: bench/soak.sh [MINUTES]     (root)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
py=$SW_PY
minutes=${1:-${SOAK_MINUTES:-30}}
out=${SOAK_OUT:-$top/bench/out/soak}
log() { echo "soak: $*" >&2; }

bench_setup "$out" sk
sw_fleet_up "$name" --truth "$out/truth.tsv" --seed 9 \
	--spec "open=3000,closed=500,filtered=300,unreach=200,slow=400,lossy=300,flap=300@period:20s,ports=22+80+443"
# appendonly, so that a SIGKILL and a restart on the same socket keep what
# Redis acknowledged (the exactly-once check below relies on it)
sw_redis_up "$dir" --aof everysec --wait 10
awk -F'\t' 'NR > 1 { printf "      - \"%s:%s\"\n", $1, $2 }' "$out/truth.tsv" > "$dir/hosts.yaml"
{
	printf 'location: soak\nrate: 20000\nresults_maxlen: 100000000\n'
	printf 'defaults: { interval: 2s, timeout: 500ms, retries: 1, failures: 2 }\n'
	printf 'groups:\n  - name: fleet\n    hosts:\n'
	cat "$dir/hosts.yaml"
} > "$dir/soak.yaml"
n=$(($(wc -l < "$out/truth.tsv") - 1))
ip netns exec "swf-$name-p" "$SW_BIN/synwatch" -c "$dir/soak.yaml" --redis "unix://$dir/r.sock" \
	--output ndjson --no-latency --spill "$dir/spill.log" > "$dir/results.ndjson" 2> "$out/synwatch.log" &
spid=$!
sw_cleanup_add "kill $spid 2>/dev/null"
log "$n endpoints at 2 s for $minutes min (synwatch pid $spid)"

total=$((minutes * 60))
half=$((total / 2))
echo "t_s rss_kb fds" > "$out/samples.txt"
for ((t = 0; t <= total; t += 10)); do
	rss=$(rss_kb $spid)
	fds=$(ls "/proc/$spid/fd" 2> /dev/null | wc -l)
	[ "${rss:-0}" -gt 0 ] || { log "synwatch died at $t s: $(tail -3 "$out/synwatch.log")"; exit 1; }
	echo "$t $rss $fds" >> "$out/samples.txt"
	if [ $t -eq $half ]; then
		log "killing redis-server (SIGKILL) at $t s, restarting it 10 s later"
		sw_redis_kill "$dir"
		sleep 10
		t=$((t + 10))
		sw_redis_up "$dir" --aof everysec --wait 10
		continue
	fi
	sleep 10
done
kill -TERM $spid
for _ in $(seq 100); do kill -0 $spid 2> /dev/null || break; sleep 0.1; done
wait $spid
rc=$?
redis-cli -s "$dir/r.sock" --raw XRANGE synwatch:results - + COUNT 100000000 > "$dir/stream.txt" 2>&1

"$py" - "$out/samples.txt" "$dir/results.ndjson" "$dir/stream.txt" "$minutes" "$n" "$rc" << 'PY'
import collections, json, sys
samples, ndjson, stream, minutes, n, rc = sys.argv[1:]
rows = [l.split() for l in open(samples)][1:]
t = [int(r[0]) for r in rows]; rss = [int(r[1]) for r in rows]; fds = [int(r[2]) for r in rows]
warm = next((i for i, x in enumerate(t) if x >= min(300, t[-1] // 4)), 0)
growth = (rss[-1] - rss[warm]) * 100.0 / rss[warm]
printed = collections.Counter()
for line in open(ndjson):
    if '"type":"result"' in line:
        o = json.loads(line)
        printed[(f'{o["ip"]}:{o["port"]}', o["ts"])] += 1
# XRANGE --raw: id, then field/value lines; count (target, ts) pairs
stored = collections.Counter()
cur = {}
lines = open(stream).read().split("\n")
i = 0
while i < len(lines):
    if "-" in lines[i] and lines[i].split("-")[0].isdigit():
        if cur.get("target"):
            stored[(cur["target"], cur.get("ts"))] += 1
        cur = {}
        i += 1
        continue
    if i + 1 < len(lines):
        cur[lines[i]] = lines[i + 1]
    i += 2
if cur.get("target"):
    stored[(cur["target"], cur.get("ts"))] += 1
total_printed = sum(printed.values())
# the two sinks write ts differently (RFC 3339, Unix ns): compare counts per target
per_p = collections.Counter(k[0] for k in printed.elements())
per_s = collections.Counter(k[0] for k in stored.elements())
missing = sum(max(0, per_p[k] - per_s.get(k, 0)) for k in per_p)
extra = sum(max(0, per_s[k] - per_p.get(k, 0)) for k in per_s)
print(f"## Soak: {minutes} min of monitoring, redis-server SIGKILLed in the middle\n")
print(f"{n} endpoints (open, closed, filtered, unreachable, slow, lossy, flapping every 20 s) at a 2 s interval, "
      "Redis (appendonly) and NDJSON written at once; redis-server killed with SIGKILL at half time and "
      "restarted on the same socket 10 s later.\n")
print("| what | figure |\n| --- | --- |")
print(f"| RSS after warm-up ({t[warm]} s) | {rss[warm] / 1024:.1f} MiB |")
print(f"| RSS at the end ({t[-1]} s) | {rss[-1] / 1024:.1f} MiB |")
print(f"| RSS growth after warm-up | {growth:+.2f} % (target: under 1 %) |")
print(f"| open file descriptors | {min(fds)}..{max(fds)} (first {fds[0]}, last {fds[-1]}) |")
print(f"| results printed (NDJSON) | {total_printed} |")
print(f"| results in Redis | {sum(stored.values())} |")
print(f"| missing from Redis | {missing} |")
print(f"| in Redis more often than printed | {extra} |")
print(f"| synwatch exit status | {rc} |")
PY
