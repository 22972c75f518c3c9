#!/bin/bash
# A restart (a package upgrade) that consumers do not notice (issue #19):
# the daemon probes the namespace test fleet into a private redis-server,
# synwatch-alert tells a webhook. One endpoint goes down and is told; the
# daemon is stopped (SIGTERM) and started again mid-outage:
# - it resumes every state from Redis: no event at all after the restart
#   (no second unknown -> down, no unknown -> up for the healthy ones), the
#   down endpoint keeps its since and its place in idx:LOC:down, nobody is
#   left in idx:LOC:unknown, and the alerter sends nothing new;
# - the endpoint comes back: exactly one down -> up event (successes: 2,
#   so the streak goes on), with the outage's since, and one RESOLVED;
# - a restart after another endpoint got a service check: that one starts
#   afresh (one event from unknown), the others still tell nothing;
# - without Redis, the same through the local state file (state_file:):
#   the NDJSON of the run after the restart has no event until the down
#   endpoint comes back, and then one down -> up with the outage's since;
#   another location's file is not taken.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli "$SW_PY"
sw_require_bin synwatch synwatch-alert fleet-responder

sw_fleet_test rs dir --spec "open=4,ports=5432,layout=dense" --seed 5
sw_redis_up "$dir"
URL=unix://$dir/r.sock
R() { redis-cli -s "$dir/r.sock" "$@"; }
alert_sinks_up "$dir"

mapfile -t open < <(awk -F'\t' 'NR > 1 && $3 == "open" { print $1 }' "$dir/truth.tsv")
n=${#open[@]}
[ "$n" -eq 4 ] || sw_fail "the fleet has $n open endpoints, want 4"
victim=${open[0]}:5432 other=${open[1]}:5432
# CHECK: the service check of the second endpoint ("" for none)
write_config() {
	cat > "$dir/synwatch.yaml" <<EOF
location: lab-1
rate: 1000
redis: $URL
spill: $dir/spill.log
output: none
defaults:
  interval: 1s
  timeout: 300ms
  retries: 1
  failures: 2
  successes: 2
  labels: { criticality: critical }
groups:
  - name: db
    targets:
      - { host: ${open[0]}, port: 5432, name: "Victim DB" }
      - { host: ${open[1]}, port: 5432, name: "Other DB"$1 }
    hosts: ["${open[2]}:5432", "${open[3]}:5432"]
EOF
}
{
	printf 'redis: %s\ngroup_wait: 1s\nreminder: 1h\n' "$URL"
	alert_channels
	printf 'routes:\n  - match: [criticality=critical]\n    channels: [ops-webhook]\n'
} > "$dir/alert.yaml"

# start_synwatch RUN: the daemon in the prober's namespace, its log in
# $dir/synwatch-RUN.err; sets spid
start_synwatch() {
	ip netns exec "$pns" "$SW_BIN/synwatch" -c "$dir/synwatch.yaml" --keep-privileges > /dev/null \
		2> "$dir/synwatch-$1.err" &
	spid=$!
	sw_cleanup_add "kill $spid 2>/dev/null"
}
# stop_synwatch RUN: SIGTERM, and it exits 0 without a sanitizer's word
stop_synwatch() {
	kill -TERM "$spid"
	wait "$spid" || sw_fail "synwatch (run $1) did not exit 0 on SIGTERM: $(tail -3 "$dir/synwatch-$1.err")"
	grep -q "AddressSanitizer\|runtime error" "$dir/synwatch-$1.err" &&
		sw_fail "sanitizer: $(grep -A5 Sanitizer "$dir/synwatch-$1.err")"
	return 0
}
# events_after ID: "TARGET FROM->TO" of each state event after entry ID
events_after() {
	R XRANGE synwatch:events "($1" + |
		awk 'p == "kind" { k = $0 } p == "target" { t = $0 } p == "from" { f = $0 }
		     p == "to" && k == "state" { print t, f "->" $0 } { p = $0 }'
}
last_entry() { R XREVRANGE synwatch:events + - COUNT 1 | head -1; }
hook_count() { alert_count "$dir" hook "${1:-.}"; }

write_config ""
start_synwatch 1
ups() { [ "$(R ZCARD synwatch:idx:lab-1:up)" = "$1" ]; }
sw_wait_for 15 ups "$n" || sw_fail "not every endpoint came up in Redis: $(tail -3 "$dir/synwatch-1.err")"
alert_start "$dir"
sw_fleet set --name "$name" "$victim" closed || sw_fail "fleet set closed"
down="^DOWN Victim DB \\(${victim//./\\.}\\): refused$"
alert_wait "$dir" hook "$down" 1 15 || sw_fail "no DOWN on the webhook: $(alert_messages "$dir" | cut -f1,2)"
sleep 1.5 # a result or two more into the down state: its streak grows
since=$(R HGET "synwatch:state:lab-1:$victim" since)
score=$(R ZSCORE synwatch:idx:lab-1:down "$victim")
streak=$(R HGET "synwatch:state:lab-1:$victim" streak)
[ -n "$since" ] && [ -n "$score" ] || sw_fail "the victim is not down in Redis"
[ "$streak" -le -2 ] 2> /dev/null || sw_fail "the victim's streak is '$streak', want -2 or less"
sw_pass "run 1: $n endpoints up, $victim down (since $since, streak $streak) and told once"

# ---- the restart, mid-outage
stop_synwatch 1
mark=$(last_entry)
xlen=$(R XLEN synwatch:events)
hooks=$(hook_count)
restart_ms=$(sw_now_ms)
start_synwatch 2
sw_wait_for 15 grep -q "resumed the states of $n of $n targets from redis" "$dir/synwatch-2.err" ||
	sw_fail "run 2 did not resume every state: $(grep -i "resum\|redis" "$dir/synwatch-2.err" | tail -3)"
# two intervals and more after its first results, for a late event to show
checked() { [ "$(R HGET "synwatch:state:lab-1:$victim" last_ts)" -gt "$((restart_ms * 1000000))" ]; }
sw_wait_for 10 checked || sw_fail "run 2 writes no results for $victim"
sleep 3
got=$(events_after "$mark")
[ -z "$got" ] && [ "$(R XLEN synwatch:events)" = "$xlen" ] || sw_fail "events after the restart: $got"
[ "$(R HGET "synwatch:state:lab-1:$victim" since)" = "$since" ] ||
	sw_fail "since moved: $(R HGET "synwatch:state:lab-1:$victim" since), was $since"
[ "$(R HGET "synwatch:state:lab-1:$victim" state)" = down ] || sw_fail "the victim's hash is not down"
[ "$(R ZSCORE synwatch:idx:lab-1:down "$victim")" = "$score" ] || sw_fail "its idx:lab-1:down score moved"
[ "$(R ZCARD synwatch:idx:lab-1:unknown)" = 0 ] || sw_fail "idx:lab-1:unknown: $(R ZRANGE synwatch:idx:lab-1:unknown 0 -1)"
ups $((n - 1)) || sw_fail "idx:lab-1:up has $(R ZCARD synwatch:idx:lab-1:up), want $((n - 1))"
[ "$(R HGET "synwatch:state:lab-1:$victim" streak)" -lt "$streak" ] || sw_fail "the streak did not go on"
sleep 1 # group_wait: anything the alerter would tell is told by now
[ "$(hook_count)" = "$hooks" ] || sw_fail "the alerter told something new: $(alert_messages "$dir" | cut -f1,2)"
sw_pass "run 2 resumed: no event in $((($(sw_now_ms) - restart_ms) / 1000)) s, since and idx kept, nothing told"

# ---- the victim comes back: one down -> up, from the outage's start
sw_fleet set --name "$name" "$victim" open || sw_fail "fleet set open"
one() { [ "$(R XLEN synwatch:events)" -gt "$xlen" ]; }
sw_wait_for 10 one || sw_fail "no event after $victim came back"
sleep 2
got=$(events_after "$mark")
[ "$got" = "$victim down->up" ] || sw_fail "events after it came back: $got"
entry=$(R XREVRANGE synwatch:events + - COUNT 1)
[ "$(awk 'p == "since" { print; exit } { p = $0 }' <<< "$entry")" = "$since" ] ||
	sw_fail "the up event's since is not the outage's start: $entry"
resolved="^RESOLVED Victim DB \\(${victim//./\\.}\\): up again after [0-9]+s$"
alert_wait "$dir" hook "$resolved" 1 15 || sw_fail "no RESOLVED: $(alert_messages "$dir" | cut -f1,2)"
[ "$(hook_count)" = 2 ] && [ "$(hook_count "$down")" = 1 ] ||
	sw_fail "the webhook got: $(alert_messages "$dir" | cut -f1,2)"
sw_pass "it came back: one down -> up event with the outage's since, one RESOLVED"

# ---- settings changed between runs: that endpoint starts afresh
stop_synwatch 2
mark=$(last_entry)
write_config ", check: connect"
start_synwatch 3
sw_wait_for 15 grep -q "resumed the states of $((n - 1)) of $n targets from redis" "$dir/synwatch-3.err" ||
	sw_fail "run 3: $(grep -i "resum\|redis" "$dir/synwatch-3.err" | tail -3)"
fresh() { [ -n "$(events_after "$mark")" ]; }
sw_wait_for 10 fresh || sw_fail "run 3: no event for $other, which got a check"
sleep 3
got=$(events_after "$mark")
[ "$(wc -l <<< "$got")" = 1 ] && [[ $got == "$other unknown->"* ]] || sw_fail "run 3's events: $got"
stop_synwatch 3
kill "$ALERT_PID"
wait "$ALERT_PID" 2> /dev/null || sw_fail "synwatch-alert did not exit 0 on SIGTERM"
sw_pass "a service check added between runs: that endpoint starts afresh ($got), the others resume"

# ---- without Redis: the states go through the local state file
write_local() {
	cat > "$dir/local.yaml" <<EOF
location: lab-2
rate: 1000
output: ndjson
state_file: $dir/states.tsv
defaults: { interval: 1s, timeout: 300ms, retries: 1, failures: 2, successes: 2 }
groups:
  - name: db
    hosts: ["${open[0]}:5432", "${open[1]}:5432", "${open[2]}:5432", "${open[3]}:5432"]
EOF
}
# state events of an NDJSON file: "TARGET FROM->TO TS SINCE", one a line
# (SINCE: when the state it leaves began)
ndjson_events() {
	"$SW_PY" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "event" and r.get("kind") == "state":
        print("%s:%s %s->%s %s %s" % (r["ip"], r["port"], r["from"], r["to"], r["ts"], r.get("since")))' "$1"
}
start_local() { # RUN
	ip netns exec "$pns" "$SW_BIN/synwatch" -c "$dir/local.yaml" --keep-privileges > "$dir/local-$1.ndjson" \
		2> "$dir/synwatch-$1.err" &
	spid=$!
	sw_cleanup_add "kill $spid 2>/dev/null"
}
write_local
sw_fleet set --name "$name" "$victim" closed || sw_fail "fleet set closed"
start_local 4
told() { [ "$(ndjson_events "$dir/local-4.ndjson" | wc -l)" -ge "$n" ]; }
sw_wait_for 15 told || sw_fail "run 4 (no redis): events $(ndjson_events "$dir/local-4.ndjson")"
sleep 1.5
stop_synwatch 4
# (the gateway's canary, which the prober adds, counts too)
grep -q "kept the states of [0-9]* targets in '$dir/states.tsv' for the next start" "$dir/synwatch-4.err" ||
	sw_fail "run 4 kept no states: $(grep -i 'state\|warn\|error' "$dir/synwatch-4.err")"
down_since=$(ndjson_events "$dir/local-4.ndjson" | awk -v t="$victim" '$1 == t && $2 ~ /->down$/ { print $3 }')
# the file keeps that instant, to the nanosecond
since_ns=$(awk -F'\t' -v t="$victim" '$1 == t { print $3 }' "$dir/states.tsv")
"$SW_PY" -c 'import sys, datetime as d
t = sys.argv[1]; s = int(sys.argv[2])
w = d.datetime.fromtimestamp(s // 10**9, d.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (s % 10**9)
sys.exit(w != t)' "$down_since" "$since_ns" || sw_fail "the state file's since $since_ns is not the down event's $down_since"
[ -n "$down_since" ] || sw_fail "run 4 did not see $victim go down: $(ndjson_events "$dir/local-4.ndjson")"
grep -q "^$victim	down	" "$dir/states.tsv" || sw_fail "the state file: $(cat "$dir/states.tsv")"
start_local 5
sw_wait_for 15 grep -q "resumed the states of \([0-9]*\) of \1 targets from '$dir/states.tsv'" "$dir/synwatch-5.err" ||
	sw_fail "run 5 did not resume from the file: $(tail -3 "$dir/synwatch-5.err")"
sleep 3
[ -z "$(ndjson_events "$dir/local-5.ndjson")" ] ||
	sw_fail "events after a restart without redis: $(ndjson_events "$dir/local-5.ndjson")"
grep -q '"type":"result"' "$dir/local-5.ndjson" || sw_fail "run 5 printed no results"
sw_fleet set --name "$name" "$victim" open || sw_fail "fleet set open"
back() { [ -n "$(ndjson_events "$dir/local-5.ndjson")" ]; }
sw_wait_for 10 back || sw_fail "no event after $victim came back (no redis)"
sleep 2
got=$(ndjson_events "$dir/local-5.ndjson" | awk '{ print $1, $2, $4 }')
[ "$got" = "$victim down->up $down_since" ] || sw_fail "run 5's events: $got, want '$victim down->up $down_since'"
stop_synwatch 5
# a file of another prober (location) is not taken
sed -i 's/^location: lab-2/location: lab-3/' "$dir/local.yaml"
start_local 6
sw_wait_for 10 grep -q "is not this prober's state file" "$dir/synwatch-6.err" ||
	sw_fail "run 6 took another location's file: $(tail -3 "$dir/synwatch-6.err")"
stop_synwatch 6
sw_pass "without redis: the state file carries the states over a restart (no event, then one down -> up)"
