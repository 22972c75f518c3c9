#!/bin/bash
# End to end: the real daemon writes to a private redis-server, and
# synwatch-top and synwatch-exporter show what it wrote. In a private
# namespace on 127.0.0.0/8: two listeners and a closed port, probed every
# second, in a group with metrics: per_target; one listener stops (down,
# refused), then comes back (up). The prober's handshake histograms reach
# /metrics (P histo:LOC), with the group's counts.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli curl "$SW_PY"
sw_require_bin synwatch synwatch-top synwatch-exporter
"$SW_BIN/synwatch" --help 2>&1 | grep -q -- "--redis" || sw_fail "this synwatch has no --redis"

sw_tmpdir dir
ns=swt-$(sw_unique ce)
sw_ns_add "$ns"
sw_redis_up "$dir"
URL=unix://$dir/r.sock
rc() { redis-cli -s "$dir/r.sock" "$@"; }

listen() { # PORT: a listener on 127.0.0.1:PORT in the namespace; its pid in $dir/PORT.pid
	ip netns exec "$ns" "$SW_PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
open(sys.argv[2], "w").write("ready")
time.sleep(600)' "$1" "$dir/$1.ready" > /dev/null 2>&1 &
	echo $! > "$dir/$1.pid"
	sw_cleanup_add "kill $! 2>/dev/null"
	sw_wait_for 5 test -s "$dir/$1.ready" || sw_fail "listener on $1 did not start"
}
listen 8080
listen 8081

cat > "$dir/synwatch.yaml" << EOF
location: e2e
redis: "$URL"
groups:
  - name: web
    hosts: ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"]
    interval: 1s
    timeout: 300ms
    metrics: per_target
EOF
ip netns exec "$ns" "$SW_BIN/synwatch" -c "$dir/synwatch.yaml" -q > "$dir/synwatch.out" 2> "$dir/synwatch.err" &
spid=$!
sw_cleanup_add "kill $spid 2>/dev/null"
states() { [ "$(rc zcard synwatch:idx:e2e:up)" = "$1" ] && [ "$(rc zcard synwatch:idx:e2e:down)" = "$2" ]; }
sw_wait_for 15 states 2 1 || sw_fail "the daemon did not write 2 up, 1 down: $(tail -3 "$dir/synwatch.err")"
sw_pass "the daemon wrote its states to Redis"

"$SW_BIN/synwatch-top" --once --redis "$URL" > "$dir/top.txt" || sw_fail "top --once: $(cat "$dir/top.txt")"
grep -Eq '^ e2e +2 +0 +1 +0 +0 +3$' "$dir/top.txt" || sw_fail "top counts: $(cat "$dir/top.txt")"
grep -Eq '^ 127\.0\.0\.1:8082 .*down ' "$dir/top.txt" || sw_fail "top: 8082 not in trouble"
grep -Eq '^ e2e/.* ok$' "$dir/top.txt" || sw_fail "top: the prober is not ok: $(grep -A2 PROBER "$dir/top.txt")"
sw_pass "top --once shows the daemon's fleet"

sw_exporter_up "$dir/exp.log" base --redis "$URL" --no-web
success() { # TARGET VALUE
	curl -sf "$base/metrics" | grep -q "^probe_success{target=\"$1\",.*location=\"e2e\".*} $2\$"
}
success 127.0.0.1:8080 1 && success 127.0.0.1:8081 1 && success 127.0.0.1:8082 0 ||
	sw_fail "probe_success: $(curl -s "$base/metrics" | grep ^probe_success)"
curl -sf "$base/metrics" | grep -q '^synwatch_prober_up{prober="e2e/[^"]*",location="e2e"} 1$' ||
	sw_fail "the prober is not up in /metrics"
prober=$(rc zrange synwatch:probers 0 0)
[ "$(rc hget "synwatch:prober:$prober" metrics_per_target)" = '["web"]' ] ||
	sw_fail "the heartbeat's metrics_per_target: $(rc hget "synwatch:prober:$prober" metrics_per_target)"
sw_pass "/metrics: probe_success per target (the heartbeat names web in metrics_per_target), the prober up"

# the handshake histogram: the prober adds each second's answers (8080, 8081
# open, 8082 refused: 3 a second) to P histo:e2e
count() { rc hget synwatch:histo:e2e count:web; }
sw_wait_for 5 sh -c '[ "$(redis-cli -s "$1" hget synwatch:histo:e2e count:web)" -ge 6 ]' - "$dir/r.sock" ||
	sw_fail "P histo:e2e: $(rc hgetall synwatch:histo:e2e | paste -sd' ')"
"$SW_PY" - "$(rc hgetall synwatch:histo:e2e | paste -sd' ')" << 'PY' || sw_fail "P histo:e2e: $(rc hgetall synwatch:histo:e2e | paste -sd' ')"
import sys
v = sys.argv[1].split(" ")
h = dict(zip(v[::2], map(int, v[1::2])))
buckets = sum(n for f, n in h.items() if f.split(":")[0] not in ("count", "sum_us"))
assert all(f.endswith(":web") for f in h), h
assert buckets == h["count:web"] > 0, h
# loopback handshakes: well under 50 ms each
assert 0 < h["sum_us:web"] < 50000 * h["count:web"], h
PY
sleep 1.1 # the exporter's snapshot is reused for --max-age 1 s
curl -sf "$base/metrics" -o "$dir/metrics.txt" || sw_fail "GET /metrics"
grep -q '^synwatch_handshake_duration_seconds_bucket{location="e2e",group="web",le="+Inf"} [1-9]' "$dir/metrics.txt" &&
	grep -q '^synwatch_handshake_duration_seconds_count{location="e2e",group="web"} [1-9]' "$dir/metrics.txt" ||
	sw_fail "/metrics: no handshake histogram: $(grep handshake "$dir/metrics.txt" | head -5)"
grep -q '^synwatch_group_targets{location="e2e",group="web",state="up"} 2$' "$dir/metrics.txt" &&
	grep -q '^synwatch_group_targets{location="e2e",group="web",state="down"} 1$' "$dir/metrics.txt" ||
	sw_fail "/metrics: group counts: $(grep synwatch_group_targets "$dir/metrics.txt")"
# an exporter told to show no target one by one still counts them
sw_exporter_up "$dir/exp-none.log" none --redis "$URL" --no-web --per-target none
curl -sf "$none/metrics" -o "$dir/metrics-none.txt" || sw_fail "GET /metrics (--per-target none)"
grep -q '^probe_success{' "$dir/metrics-none.txt" && sw_fail "--per-target none: per-target series"
grep -q '^synwatch_group_targets{location="e2e",group="web",state="up"} 2$' "$dir/metrics-none.txt" ||
	sw_fail "--per-target none: no group counts"
grep -q '^synwatch_exporter_per_target_rows 0$' "$dir/metrics-none.txt" || sw_fail "--per-target none: rows"
sw_pass "the prober's histogram in P histo:e2e ($(count) answers) and in /metrics with the group's counts; --per-target none keeps those alone"

kill "$(cat "$dir/8080.pid")"
sw_wait_for 10 success 127.0.0.1:8080 0 || sw_fail "8080 did not go down in /metrics"
curl -sf "$base/metrics" | grep -q '^synwatch_target_state{target="127.0.0.1:8080",.*state="down"} 1$' ||
	sw_fail "synwatch_target_state is not down for 8080"
curl -sf "$base/api/target?t=127.0.0.1:8080" -o "$dir/target.json" || sw_fail "/api/target"
"$SW_PY" - "$dir/target.json" << 'PY' || sw_fail "/api/target: $(head -c 600 "$dir/target.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert [l["state"] for l in t["locations"]] == ["down"], t["locations"]
assert t["locations"][0]["reason"] == "refused", t["locations"][0]
kinds = [(e["kind"], e.get("to"), e.get("reason")) for e in t["events"]]
assert ("state", "down", "refused") in kinds and ("state", "up", "open") in kinds, kinds
PY
"$SW_BIN/synwatch-top" --once --redis "$URL" > "$dir/top2.txt" || sw_fail "top --once"
grep -Eq '^ 127\.0\.0\.1:8080 .*down ' "$dir/top2.txt" || sw_fail "top: 8080 not down: $(cat "$dir/top2.txt")"
grep -Eq 'state +127\.0\.0\.1:8080 .*up → down +refused' "$dir/top2.txt" || sw_fail "top: no up → down event"
sw_pass "a listener stops: down in /metrics, /api/target (state, events) and top"

listen 8080
sw_wait_for 10 success 127.0.0.1:8080 1 || sw_fail "8080 did not come back up in /metrics"
sw_pass "it comes back: up again"

kill -INT $spid
wait $spid
r=$?
[ $r -eq 0 ] || sw_fail "synwatch exited $r: $(tail -3 "$dir/synwatch.err")"
