#!/bin/bash
# End to end: the real daemon writes to a private redis-server, and
# synwatch-top and synwatch-exporter show what it wrote. In a private
# namespace on 127.0.0.0/8: two listeners and a closed port, probed every
# second; one listener stops (down, refused), then comes back (up).
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

ip netns exec "$ns" "$SW_BIN/synwatch" 127.0.0.1:8080 127.0.0.1:8081 127.0.0.1:8082 --interval 1s \
	--timeout 300ms --location e2e --redis "$URL" -q > "$dir/synwatch.out" 2> "$dir/synwatch.err" &
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
sw_pass "/metrics: probe_success per target, the prober up"

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
