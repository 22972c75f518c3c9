#!/bin/bash
# Three probers of one location over one fleet share the targets through
# Redis (P members:LOC, rendezvous hashing):
# - steady state: every target checked by exactly one prober, once per
#   interval (1 s), each prober owning about a third;
# - SIGKILL one: its targets are checked by the others within 2 heartbeats
#   + 1 interval (+ 1 s for the once-a-second read of the members);
# - start it again: the shares rebalance to a third each, and again every
#   target is checked by exactly one prober;
# - the handshake histogram of all three in one P histo:LOC, each answer
#   counted at most once.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli
sw_fleet_test sh out --spec "open=300,ports=80,layout=dense" --seed 8
sw_redis_up "$out"
R() { redis-cli -s "$out/r.sock" "$@"; }
P=swt:
n=$(awk -F'\t' 'NR > 1 && $3 == "open"' "$out/truth.tsv" | wc -l)
[ "$n" -ge 250 ] || sw_fail "the fleet has $n open endpoints, want about 300"

for i in 1 2 3; do
	lo=$((61000 + (i - 1) * 300))
	{
		cat <<EOF
location: lab
prober_id: lab/p$i
rate: 2000
output: none
redis: unix://$out/r.sock
redis_prefix: "$P"
spill: $out/spill$i.log
source_ports: $lo-$((lo + 299))
defaults:
  interval: 1s
  timeout: 300ms
  retries: 1
groups:
  - name: web
    hosts:
EOF
		awk -F'\t' 'NR > 1 && $3 == "open" { printf "      - \"%s:%s\"\n", $1, $2 }' "$out/truth.tsv"
	} > "$out/p$i.yaml"
done

start_prober() { # I
	ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/p$1.yaml" --no-latency >> "$out/err$1.txt" 2>&1 &
	eval "pid_$1=$!"
	sw_cleanup_add "kill -9 $! 2>/dev/null"
}
owned() { R hget "${P}prober:lab/p$1" targets; }
# each prober's heartbeat says it owns a third (within 20%), and together all
balanced() {
	local a b c
	a=$(owned 1) b=$(owned 2) c=$(owned 3)
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && [ $((a + b + c)) -eq "$n" ] || return 1
	for x in $a $b $c; do
		[ "$x" -ge $((n * 8 / 30)) ] && [ "$x" -le $((n * 12 / 30)) ] || return 1
	done
}
steady() { # SECONDS: a window of that many seconds, ending now
	local to
	to=$(sw_now_ms)
	"$SW_PY" "$SW_TOP/tests/integration/shard_check.py" steady "$out/r.sock" "$P" $((to - $1 * 1000)) "$to" "$n"
}

t0=$(sw_now_ms)
for i in 1 2 3; do start_prober $i; done
sw_wait_for 10 balanced || sw_fail "shares not balanced: p1=$(owned 1) p2=$(owned 2) p3=$(owned 3) of $n; $(tail -3 "$out/err1.txt")"
sw_info "balanced after $(($(sw_now_ms) - t0)) ms: p1=$(owned 1) p2=$(owned 2) p3=$(owned 3)"
[ "$(R zrange "${P}members:lab" 0 -1 | sort | tr '\n' ' ')" = "lab/p1 lab/p2 lab/p3 " ] ||
	sw_fail "members:lab holds '$(R zrange "${P}members:lab" 0 -1)'"
sleep 5.5
share=$(steady 5) || sw_fail "steady state: $(steady 5 2>&1)"
sw_pass "three probers: every target once per second by one prober ($share)"

# ---- SIGKILL p2: the others take its share
before=$(owned 1)
{ kill -9 "$pid_2" && wait "$pid_2"; } 2> /dev/null
kill_ms=$(sw_now_ms)
sw_wait_for 8 sh -c "[ \"\$(redis-cli -s '$out/r.sock' hget '${P}prober:lab/p1' targets)\" -gt $before ]" ||
	sw_fail "p1 did not take over: $(tail -3 "$out/err1.txt")"
sleep 6
worst=$("$SW_PY" "$SW_TOP/tests/integration/shard_check.py" failover "$out/r.sock" "$P" lab/p2 "$kill_ms" 4500) ||
	sw_fail "failover: $worst"
sw_pass "p2 killed: its targets checked by the others $worst ms after the kill at worst (limit 4500)"
[ $(($(owned 1) + $(owned 3))) -eq "$n" ] || sw_fail "p1 and p3 own $(owned 1) + $(owned 3), want $n"
share=$(steady 3) || sw_fail "after the kill: $(steady 3 2>&1)"
sw_pass "two probers: every target once per second by one prober ($share)"

# ---- p2 back: a third each again
t1=$(sw_now_ms)
start_prober 2
sw_wait_for 8 balanced || sw_fail "not rebalanced: p1=$(owned 1) p2=$(owned 2) p3=$(owned 3) of $n; $(tail -3 "$out/err2.txt")"
sw_info "rebalanced after $(($(sw_now_ms) - t1)) ms: p1=$(owned 1) p2=$(owned 2) p3=$(owned 3)"
sleep 4.5
share=$(steady 4) || sw_fail "after the restart: $(steady 4 2>&1)"
sw_pass "p2 back: every target once per second by one prober ($share)"
for i in 1 3; do
	sw_pid_alive "$(eval echo \$pid_$i)" || sw_fail "p$i died: $(tail -3 "$out/err$i.txt")"
done

# ---- the handshake histogram: the probers add into one P histo:lab; a
# stopping prober writes its last second, a SIGKILLed one (p2 above) loses
# at most its last second of answers and never counts one twice
for i in 1 2 3; do
	pid=$(eval echo \$pid_$i)
	kill -TERM "$pid" && wait "$pid" || sw_fail "p$i exited $? on SIGTERM: $(tail -3 "$out/err$i.txt")"
done
answers=$("$SW_PY" - "$out/r.sock" "$P" "$SW_TOP/tests/integration" << 'PY'
import sys
sys.path.insert(0, sys.argv[3])
from redis_check import Redis, stream
print(sum(1 for e in stream(Redis(sys.argv[1]), sys.argv[2] + "results")
          if e["state"] in ("open", "closed") and e.get("rtt_us")))
PY
)
counted=$(R hget "${P}histo:lab" count:web)
[ -n "$counted" ] && [ "$counted" -le "$answers" ] && [ "$counted" -ge $((answers - n)) ] ||
	sw_fail "P histo:lab counts $counted answers, the results stream has $answers (want at most one second's, $n, fewer)"
sw_pass "the three probers' handshake histogram in one P histo:lab: $counted of the $answers answers in the results stream ($((answers - counted)) lost with the SIGKILLed p2)"
