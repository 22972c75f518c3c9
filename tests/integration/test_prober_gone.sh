#!/bin/bash
# A prober that dies must be said to be gone, loudly, not taken for one that
# never wrote (issue 15):
#   1. synwatch-top started in tmux before the prober says that nothing was
#      written yet, and stops saying it once the prober writes;
#   2. the prober is SIGKILLed: top --once says it is late (its heartbeat
#      hash still there, no heartbeat for 3 s), then GONE, first under the
#      title, with its id and how long ago it was last seen; the tmux top
#      too; the exporter's /api/summary says "gone", /metrics
#      synwatch_prober_up 0;
#   3. make demo's synwatch is SIGKILLed: the demo ends at once and says so,
#      with the signal and the kept log's path; the log is there, top's last
#      frame says GONE, nothing else is left.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli curl tmux "$SW_PY"
sw_require_bin synwatch synwatch-top synwatch-exporter fleet-responder
TOP=$SW_BIN/synwatch-top

sw_fleet_test pg dir --spec "open=12,closed=4,ports=80,layout=dense" --seed 15
sw_redis_up "$dir"
URL=unix://$dir/r.sock
awk -F'\t' 'NR > 1 { print $1 ":" $2 }' "$dir/truth.tsv" > "$dir/targets.txt"
n=$(wc -l < "$dir/targets.txt")

# ---- 1. top before anything was written ----
tsock=sw-pg-$$
tm() { tmux -L "$tsock" -f /dev/null "$@"; }
# (newest first: after the tmux server, a top still there is killed; an
# ASan build hung once in LeakSanitizer's exit after the pane's SIGHUP,
# at 100 % CPU, for the rest of the machine's day)
sw_cleanup_add "pkill -9 -f -- \"synwatch-top --redis $URL\\$\""
sw_cleanup_add "tmux -L '$tsock' kill-server"
tm new-session -d -x 150 -y 40 "'$TOP' --redis '$URL'; sleep 60" || sw_fail "tmux did not start"
screen() { tm capture-pane -p; }
shows() { screen | grep -Eq -- "$1"; }
sw_wait_for 10 shows "no prober has written here yet" || sw_fail "top on an empty Redis: $(screen | head -5)"

ip netns exec "$pns" "$SW_BIN/synwatch" -T "$dir/targets.txt" --interval 1s --timeout 300ms --location lab \
	--prober-id lab/p1 --redis "$URL" --spill "$dir/spill.log" -q > /dev/null 2> "$dir/synwatch.err" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sw_wait_for 20 shows '^ lab/p1 .* ok$' || sw_fail "top does not show the prober ok: $(screen | head -8)"
shows "no prober has written here yet" &&
	sw_fail "top started before the prober still says nobody wrote: $(screen | head -3)"
"$TOP" --once --redis "$URL" --prefix other: > "$dir/never.txt" || sw_fail "top --once on an empty prefix"
sed -n 2p "$dir/never.txt" | grep -q "no 'other:schema' key: no prober has written here yet" ||
	sw_fail "an empty prefix is not 'never written': $(head -3 "$dir/never.txt")"
sw_pass "top: 'no prober has written here yet' until the prober writes, then the prober ok"

sw_exporter_up "$dir/exp.log" base --redis "$URL" --no-web
prober_status() { # the status of lab/p1 in /api/summary
	curl -sf "$base/api/summary" | "$SW_PY" -c '
import json, sys
print(" ".join(p["status"] for p in json.load(sys.stdin)["probers"] if p["id"] == "lab/p1"))'
}
status_is() { [ "$(prober_status)" = "$1" ]; }
sw_wait_for 5 status_is ok ||
	sw_fail "the exporter does not say the prober is ok: $(curl -s "$base/api/summary" | head -c 600); $(tail -5 "$dir/exp.log")"
# every target checked and in Redis, so that the frozen states are what the
# prober left, all of them
sw_wait_for 15 sh -c "[ \$(redis-cli -s '$dir/r.sock' zcard synwatch:idx:lab:up) -ge 10 ] &&
	[ \$(redis-cli -s '$dir/r.sock' zcard synwatch:idx:lab:all) -eq $n ]" ||
	sw_fail "the prober did not bring its targets up: $(tail -3 "$dir/synwatch.err")"

# ---- 2. the prober dies ----
kill -KILL $spid
killed_ms=$(sw_now_ms)
wait $spid 2> /dev/null
late=0
for _ in $(seq 100); do
	"$TOP" --once --redis "$URL" --width 160 > "$dir/top.txt" 2>&1 || sw_fail "top --once: $(cat "$dir/top.txt")"
	grep -Eq '^ lab/p1 .* late$' "$dir/top.txt" && late=1 &&
		{ sed -n 2p "$dir/top.txt" | grep -Eq '^ prober lab/p1 late: no heartbeat for [3-5]\.[0-9]s$' ||
			sw_fail "late but no late line under the title: $(sed -n 1,3p "$dir/top.txt")"; }
	grep -Eq '^ lab/p1 .* GONE$' "$dir/top.txt" && break
	sleep 0.1
done
gone_ms=$(($(sw_now_ms) - killed_ms))
grep -Eq '^ lab/p1 .* GONE$' "$dir/top.txt" || sw_fail "10 s after the SIGKILL the prober is not GONE: $(cat "$dir/top.txt")"
[ $late -eq 1 ] || sw_fail "the prober went from ok to GONE without being late (3 to 5 s after its last heartbeat)"
[ $gone_ms -le 6500 ] || sw_fail "GONE only ${gone_ms} ms after the SIGKILL (the hash expires 5 s after the last heartbeat)"
line2=$(sed -n 2p "$dir/top.txt")
grep -Eq '^ PROBER lab/p1 GONE: no heartbeat for [0-9.]+s \(last [0-9]{2}:[0-9]{2}:[0-9]{2}\); lab has no live prober: its states below are as it left them$' <<< "$line2" ||
	sw_fail "no GONE line first under the title: $(sed -n 1,3p "$dir/top.txt")"
grep -q "no prober has written here yet" "$dir/top.txt" && sw_fail "a dead prober is taken for none: $(head -3 "$dir/top.txt")"
grep -Eq "^ lab +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +$n$" "$dir/top.txt" ||
	sw_fail "the states it left are not shown: $(grep -A2 LOCATION "$dir/top.txt")"
sw_pass "top --once after a SIGKILL: late, then GONE after $gone_ms ms: '$line2'"

sw_wait_for 3 shows '^ PROBER lab/p1 GONE: no heartbeat for' || sw_fail "the tmux top does not say GONE: $(screen | head -8)"
shows '^ lab/p1 .* GONE$' || sw_fail "the tmux top's probers table: $(screen | head -8)"
sw_pass "top in tmux: '$(screen | sed -n 2p)'"
# quit with q while the terminal is there: a sanitizer build's leak check at
# exit hangs, spinning, in a process whose terminal the tmux server took away
tm send-keys q
sw_wait_for 5 sh -c "! pgrep -f -- \"^$TOP --redis $URL\" > /dev/null" || sw_fail "top did not quit on q"

sleep 1.1 # the exporter's snapshot is reused for --max-age 1 s
status_is gone || sw_fail "/api/summary: lab/p1 is '$(prober_status)', want gone"
curl -sf "$base/api/summary" | "$SW_PY" -c '
import json, sys
killed = int(sys.argv[1]) / 1000
p = [p for p in json.load(sys.stdin)["probers"] if p["id"] == "lab/p1"][0]
assert p["alive"] is False, p
assert killed - 1.5 < p["last_seen"] <= killed, (p["last_seen"], killed)
assert p["heartbeat_age_s"] >= 5, p' "$killed_ms" || sw_fail "/api/summary: $(curl -s "$base/api/summary" | head -c 800)"
curl -sf "$base/metrics" | grep -q '^synwatch_prober_up{prober="lab/p1",location="lab"} 0$' ||
	sw_fail "/metrics: $(curl -s "$base/metrics" | grep synwatch_prober_up)"
sw_pass "exporter: /api/summary status gone with last_seen, synwatch_prober_up 0"

# ---- 3. make demo's synwatch dies ----
SW_BIN=$SW_BIN timeout 180 "$SW_TOP/tools/demo.sh" --no-top --seconds 120 > "$dir/demo.txt" 2>&1 &
demo=$!
sw_cleanup_add "kill $demo 2>/dev/null; wait $demo 2>/dev/null"
sw_wait_for 60 grep -q "^demo: running for" "$dir/demo.txt" || sw_fail "the demo did not start: $(tail -5 "$dir/demo.txt")"
dpid=$(sed -n 's/^demo: synwatch: *pid \([0-9]*\)$/\1/p' "$dir/demo.txt")
[ -n "$dpid" ] || sw_fail "the demo does not say synwatch's pid: $(cat "$dir/demo.txt")"
kept=/tmp/synwatch-demo-prober-$dpid.log
sw_cleanup_add "rm -f '$kept'"
ddir=$(sed -n 's/.*redis socket: \([^ ]*\)\/redis.sock .*/\1/p' "$dir/demo.txt")
sw_wait_for 20 sh -c "[ -n \"\$(redis-cli -s '$ddir/redis.sock' zrange synwatch:probers 0 -1)\" ]" ||
	sw_fail "the demo's synwatch wrote no heartbeat"
kill -KILL "$dpid"
t0=$(date +%s)
wait $demo
rc=$?
took=$(($(date +%s) - t0))
[ $rc -eq 1 ] || sw_fail "the demo exited $rc after its synwatch died, want 1: $(tail -5 "$dir/demo.txt")"
[ $took -le 40 ] || sw_fail "the demo took $took s to end after its synwatch died"
grep -Eq "^demo: SYNWATCH DIED after [0-9]+ s: killed by signal 9 \(SIGKILL\); the demo stops here$" "$dir/demo.txt" ||
	sw_fail "no death message: $(tail -15 "$dir/demo.txt")"
grep -Fq "demo: synwatch's log: $kept (its last lines below)" "$dir/demo.txt" || sw_fail "the kept log is not named"
grep -q "synwatch: info: monitoring" "$kept" || sw_fail "the kept log $kept: $(head -3 "$kept" 2>&1)"
grep -Eq '^ PROBER demo-lab/[^ ]+ GONE: no heartbeat for' "$dir/demo.txt" || sw_fail "the demo's last top frame: $(grep -A3 synwatch-top "$dir/demo.txt")"
grep -Fq "everything removed" "$dir/demo.txt" && grep -Fq "synwatch's log is kept: $kept" "$dir/demo.txt" ||
	sw_fail "the clean-up line: $(tail -2 "$dir/demo.txt")"
[ -n "$ddir" ] && [ ! -e "$ddir" ] || sw_fail "the demo's directory '$ddir' is left"
# only this demo's: other worktrees may run one at the same time
fname=$(sed -n 's/.*in namespaces swf-\(demo[0-9]*\)-p .*/\1/p' "$dir/demo.txt")
[ -n "$fname" ] || sw_fail "the demo does not name its fleet: $(head -3 "$dir/demo.txt")"
ip netns list | grep -q "swf-$fname-" && sw_fail "a demo namespace is left: $(ip netns list | grep "swf-$fname-")"
pgrep -f "$ddir/" > /dev/null && sw_fail "a demo process is left: $(pgrep -af "$ddir/")"
sw_pass "demo: '$(grep SYNWATCH "$dir/demo.txt")', log kept at $kept, everything else removed (ended $took s after)"
