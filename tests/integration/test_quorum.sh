#!/bin/bash
# Quorum across locations. Three locations, a, b and c, each a prober in its
# own namespace with its own path to the same eight services, four hosts
# with two ports each (three fleets with the same addresses and answers), one Redis, synwatch-quorum (and a
# second one standing by) and synwatch-alert with `quorum: true`, location
# issues routed to Telegram and everything else to the webhook.
# - a's path to three targets cut (nftables in a's namespace, on the egress
#   of its link): a location
#   issue naming a for each, the global state stays up, no global down, one
#   LOCATION ISSUE message each on its route, no DOWN anywhere;
# - one of them cut from b and c too: one global down event and one DOWN
#   message (not three), its location issue ends as an outage;
# - its host's other port cut everywhere too: the host is down from every
#   location, one global host_down, one HOST DOWN message, and that port's
#   own alert held back by it (a's host_down alone, earlier, was nothing);
# - the active synwatch-quorum SIGKILLed: the standby takes over;
# - every cut lifted: global up again, RESOLVED for the outage and for the
#   location issues.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli nft curl "$SW_PY"
sw_require_bin synwatch synwatch-quorum synwatch-alert synwatch-ctl fleet-responder

sw_tmpdir out
chmod 755 "$out"
sw_redis_up "$out"
URL=unix://$out/r.sock
P=swq:
R() { redis-cli -s "$out/r.sock" "$@"; }
alert_sinks_up "$out"
locs="a b c"
for L in $locs; do
	n=$(sw_unique q$L)
	eval "fleet_$L=$n"
	sw_fleet_up "$n" --spec "open=8,ports=80+81,layout=dense" --truth "$out/truth-$L.tsv" --seed 5
done
cmp -s "$out/truth-a.tsv" "$out/truth-b.tsv" && cmp -s "$out/truth-a.tsv" "$out/truth-c.tsv" ||
	sw_fail "the three fleets differ"
mapfile -t T < <(awk -F'\t' 'NR > 1 && $3 == "open" { print $1 ":" $2 }' "$out/truth-a.tsv")
[ ${#T[@]} -eq 8 ] || sw_fail "the fleet has ${#T[@]} open endpoints, want 8"
# four hosts with ports 80 and 81: T[0], T[1] are the first host's
[ "${T[0]%:*}" = "${T[1]%:*}" ] && [ "${T[0]##*:}" = 80 ] && [ "${T[1]##*:}" = 81 ] ||
	sw_fail "unexpected fleet layout: ${T[*]}"
h0=${T[0]%:*}
hosts=$(printf '%s\n' "${T[@]%:*}" | sort -u | sed 's/$/, /' | tr -d '\n')

for L in $locs; do
	cat > "$out/$L.yaml" <<EOF
location: $L
prober_id: $L/p
rate: 1000
output: none
redis: $URL
redis_prefix: "$P"
spill: $out/spill-$L.log
defaults:
  interval: 1s
  timeout: 300ms
  retries: 1
  failures: 2
groups:
  - name: web
    labels: { team: web }
    hosts: [${hosts%, }]
    ports: [80, 81]
    metrics: per_target
EOF
	eval "ns=swf-\$fleet_$L-p"
	ip netns exec "$ns" "$SW_BIN/synwatch" -c "$out/$L.yaml" --no-latency >> "$out/$L.err" 2>&1 &
	sw_cleanup_add "kill -9 $! 2>/dev/null"
done
{
	printf 'redis: %s\nredis_prefix: "%s"\ngroup_wait: 1s\nreminder: 0s\nquorum: true\n' "$URL" "$P"
	printf 'delivery: { timeout: 2s, retries: 2, backoff: 200ms }\n'
	alert_channels
	cat <<EOF
routes:
  - match: [kind=location_issue]
    channels: [dba-telegram]
  - match: [team=web]
    channels: [ops-webhook]
EOF
} > "$out/alert.yaml"
"$SW_BIN/synwatch-alert" -c "$out/alert.yaml" --check > /dev/null || sw_fail "alert.yaml does not check"

start_quorum() { # N
	"$SW_BIN/synwatch-quorum" --redis "$URL" --prefix "$P" >> "$out/q$1.err" 2>&1 &
	eval "qpid_$1=$!"
	sw_cleanup_add "kill -9 $! 2>/dev/null"
}
start_quorum 1
sw_wait_for 5 grep -q "working: quorum majority" "$out/q1.err" || sw_fail "synwatch-quorum did not start: $(tail -3 "$out/q1.err")"
start_quorum 2
sw_wait_for 5 grep -q "holds the lease: standing by" "$out/q2.err" ||
	sw_fail "the second synwatch-quorum does not stand by: $(tail -3 "$out/q2.err")"
alert_start "$out"
# an operator's SIGHUP ends neither (they do not reload, and say so)
kill -HUP "$qpid_1" "$ALERT_PID"
sw_wait_for 10 grep -q "SIGHUP: synwatch-quorum does not reload" "$out/q1.err" ||
	sw_fail "synwatch-quorum on SIGHUP: $(tail -2 "$out/q1.err")"
sw_wait_for 10 grep -q "SIGHUP: synwatch-alert does not reload" "$out/alert.err" ||
	sw_fail "synwatch-alert on SIGHUP: $(tail -2 "$out/alert.err")"
sw_pid_alive "$qpid_1" && sw_pid_alive "$ALERT_PID" || sw_fail "SIGHUP ended synwatch-quorum or synwatch-alert"

gstate() { R hget "${P}state:global:$1" "${2:-state}"; }
all_global() { # STATE TARGETS...
	local want=$1 t
	shift
	for t in "$@"; do [ "$(gstate "$t")" = "$want" ] || return 1; done
}
events() { "$SW_PY" "$SW_TOP/tests/integration/quorum_check.py" events "$out/r.sock" "$P"; }
# count KIND LOCATION TARGET [TO [LOCATIONS_DOWN [REASON]]]: such events so far
count() {
	events | awk -F'\t' -v k="$1" -v l="$2" -v t="$3" -v to="${4-*}" -v d="${5-*}" -v r="${6-*}" '
		$1 == k && $2 == l && $3 == t && (to == "*" || $5 == to) && (d == "*" || $6 == d) &&
		(r == "*" || $7 == r) { n++ } END { print n + 0 }'
}
# The location's path to TARGETs cut where it leaves its namespace (the
# veth's egress hook): the SYNs go nowhere, as behind a broken router.
cut_path() { # LOCATION TARGET...
	local L=$1 ns dev set
	shift
	eval "ns=swf-\$fleet_$L-p dev=swf\${fleet_$L}p"
	set=$(for t in "$@"; do printf '%s . %s, ' "${t%:*}" "${t##*:}"; done)
	ip netns exec "$ns" nft add table netdev swqcut
	ip netns exec "$ns" nft add chain netdev swqcut out "{ type filter hook egress device \"$dev\" priority 0; }" ||
		sw_fail "cannot hook $dev's egress in $ns"
	ip netns exec "$ns" nft add rule netdev swqcut out ip daddr . tcp dport "{ ${set%, } }" drop ||
		sw_fail "cannot cut $L's path"
}
heal() { # LOCATION
	local ns
	eval "ns=swf-\$fleet_$1-p"
	ip netns exec "$ns" nft delete table netdev swqcut 2> /dev/null
}

sw_wait_for 20 all_global up "${T[@]}" ||
	sw_fail "not every target globally up: $(for t in "${T[@]}"; do printf '%s=%s ' "$t" "$(gstate "$t")"; done); $(tail -3 "$out/q1.err")"
voters() { [ "$(gstate "${T[0]}" locations)" = "a,b,c" ]; }
sw_wait_for 5 voters || sw_fail "the global state counts '$(gstate "${T[0]}" locations)', want a,b,c"
[ "$(gstate "${T[0]}" quorum)" = 2 ] || sw_fail "quorum '$(gstate "${T[0]}" quorum)', want 2 of 3"
"$SW_BIN/synwatch-ctl" --redis "$URL" --prefix "$P" show "${T[0]}" > "$out/show.txt" 2>&1 ||
	sw_fail "synwatch-ctl show: $(cat "$out/show.txt")"
for L in a b c global; do
	grep -q "$L" "$out/show.txt" || sw_fail "synwatch-ctl show does not list location $L: $(cat "$out/show.txt")"
done
sw_pass "three locations, every target globally up (quorum 2 of a,b,c); synwatch-ctl shows all four side by side"

# ---- a's path to three targets cut: location issues, no outage
cut=("${T[@]:0:3}")
cut_path a "${cut[@]}"
issue_a() {
	local t
	for t in "${cut[@]}"; do [ "$(gstate "$t" locations_down)" = a ] || return 1; done
}
sw_wait_for 15 issue_a || sw_fail "no location issue naming a: $(for t in "${cut[@]}"; do printf '%s=%s ' "$t" "$(gstate "$t" locations_down)"; done)"
for t in "${cut[@]}"; do
	[ "$(R hget "${P}state:a:$t" state)" = down ] || sw_fail "a does not see $t down"
	[ "$(count location_issue global "$t" '*' a)" -eq 1 ] || sw_fail "$(count location_issue global "$t" '*' a) location_issue events naming a for $t, want 1"
done
alert_wait "$out" telegram '^LOCATION ISSUE .*: down from a only \(1 of 3 locations; an outage needs 2\)' 3 10 ||
	sw_fail "no LOCATION ISSUE messages: $(alert_messages "$out" | cut -f1,2)"
sleep 3
all_global up "${T[@]}" || sw_fail "a location issue changed the global state"
[ "$(count state global "${cut[0]}" down)" -eq 0 ] || sw_fail "a global down for a location issue"
[ "$(alert_count "$out" hook '^DOWN')" -eq 0 ] || sw_fail "a DOWN alert for a location issue: $(alert_messages "$out" | cut -f1,2)"
[ "$(alert_count "$out" telegram '^LOCATION ISSUE')" -eq 3 ] || sw_fail "$(alert_count "$out" telegram '^LOCATION ISSUE') LOCATION ISSUE messages, want 3"
sw_pass "a cut from 3 targets: 3 location issues naming a, told once each on their route; globally up, no DOWN"

# ---- one of them cut from every location: one outage
t0=${cut[0]}
cut_path b "$t0"
cut_path c "$t0"
sw_wait_for 15 all_global down "$t0" || sw_fail "$t0 is not globally down: $(gstate "$t0"); $(tail -3 "$out/q1.err")"
alert_wait "$out" hook "^DOWN $t0: timed out" 1 10 || sw_fail "no DOWN for $t0: $(alert_messages "$out" | cut -f1,2)"
alert_wait "$out" telegram "^RESOLVED $t0: enough locations see it down now" 1 10 ||
	sw_fail "the location issue of $t0 did not end as an outage: $(alert_messages "$out" | cut -f1,2)"
sleep 3
[ "$(count state global "$t0" down)" -eq 1 ] || sw_fail "$(count state global "$t0" down) global down events for $t0, want 1"
[ "$(alert_count "$out" hook '^DOWN')" -eq 1 ] || sw_fail "$(alert_count "$out" hook '^DOWN') DOWN messages, want 1: $(alert_messages "$out" | cut -f1,2)"
alert_messages "$out" | awk -F'\t' '$1 == "hook" && $2 ~ /^DOWN/' | grep -Eq "seen down from (2 of 3 locations: a, [bc]|3 of 3 locations: a, b, c) \(quorum 2\)" ||
	sw_fail "the DOWN message does not name the locations: $(alert_messages "$out" | awk -F'\t' '$1 == "hook"')"
[ "$(count location_ok global "$t0" '*' a global_down)" -eq 1 ] || sw_fail "no location_ok (global_down) for $t0"
all_global up "${T[@]:1}" || sw_fail "other targets changed their global state"
sw_pass "$t0 cut from all three: one global down event, one DOWN message naming the locations"

# ---- the exporter (and the web page on its API) show the locations side by side
# (the web group's per-target series: global, which no prober's heartbeat
# speaks for, takes the groups every live prober names)
sw_exporter_up "$out/exp.log" base --redis "$URL" --prefix "$P"
curl -sf "$base/metrics" -o "$out/metrics.txt" || sw_fail "GET /metrics"
for L in a b c global; do
	grep -q "target=\"$t0\".*location=\"$L\"\|location=\"$L\".*target=\"$t0\"" "$out/metrics.txt" ||
		sw_fail "/metrics has no $t0 from location $L"
done
# side_by_side TARGET A B C GLOBAL: the states /api/target gives per location
side_by_side() {
	curl -sf "$base/api/target?t=$1" -o "$out/target.json" || sw_fail "GET /api/target?t=$1"
	"$SW_PY" - "$out/target.json" "$2" "$3" "$4" "$5" <<'PY' || sw_fail "/api/target?t=$1: $(head -c 800 "$out/target.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
got = {l["location"]: l["state"] for l in doc["locations"]}
want = dict(zip(("a", "b", "c", "global"), sys.argv[2:6]))
sys.exit(0 if got == want else f"per location {got}, want {want}")
PY
}
side_by_side "$t0" down down down down
side_by_side "${T[1]}" down up up up
sw_pass "the exporter shows a, b, c and global side by side: $t0 down everywhere, ${T[1]} down from a only"

# ---- the host's other port cut everywhere: the whole host is down globally
t1=${T[1]}
[ "$(R hexists "${P}quorum:host:$h0" a)" = 1 ] || sw_fail "a's host_down for $h0 is not counted"
[ "$(count host_down global "$h0")" -eq 0 ] || sw_fail "a global host_down from a alone"
cut_path b "$t1"
cut_path c "$t1"
sw_wait_for 15 all_global down "$t1" || sw_fail "$t1 is not globally down: $(gstate "$t1")"
host_global() { [ "$(count host_down global "$h0")" -eq 1 ]; }
sw_wait_for 10 host_global || sw_fail "no global host_down for $h0: $(R hgetall "${P}quorum:host:$h0" | tr '\n' ' ')"
alert_wait "$out" hook "^HOST DOWN $h0: all 2 watched ports down" 1 10 ||
	sw_fail "no HOST DOWN for $h0: $(alert_messages "$out" | cut -f1,2)"
sleep 3
[ "$(alert_count "$out" hook '^HOST DOWN')" -eq 1 ] || sw_fail "$(alert_count "$out" hook '^HOST DOWN') HOST DOWN messages, want 1"
[ "$(alert_count "$out" hook "^DOWN $t1")" -eq 0 ] || sw_fail "$t1 told on its own while its host is down"
sw_pass "$h0 down from every location: one global host_down, one HOST DOWN message, its port held back"

# ---- the active aggregator dies: the standby takes over
{ kill -9 "$qpid_1" && wait "$qpid_1"; } 2> /dev/null
sw_wait_for 10 grep -q "working: quorum majority" "$out/q2.err" || sw_fail "the standby did not take over: $(tail -3 "$out/q2.err")"
sw_pass "synwatch-quorum SIGKILLed: the standby took over"

# ---- every cut lifted
for L in $locs; do heal "$L"; done
sw_wait_for 15 all_global up "${T[@]}" || sw_fail "not globally up again: $(for t in "${T[@]}"; do printf '%s=%s ' "$t" "$(gstate "$t")"; done)"
no_issue() {
	local t
	for t in "${T[@]}"; do [ -z "$(gstate "$t" locations_down)" ] || return 1; done
}
sw_wait_for 10 no_issue || sw_fail "location issues left"
alert_wait "$out" hook "^RESOLVED $t0: up again" 1 10 || sw_fail "no RESOLVED for $t0: $(alert_messages "$out" | cut -f1,2)"
alert_wait "$out" hook "^RESOLVED host $h0: answering again" 1 10 || sw_fail "no RESOLVED for host $h0: $(alert_messages "$out" | cut -f1,2)"
[ "$(count host_up global "$h0")" -eq 1 ] || sw_fail "$(count host_up global "$h0") global host_up for $h0, want 1"
alert_wait "$out" telegram "^RESOLVED ${T[2]}: every location sees it up again" 1 10 ||
	sw_fail "the location issues were not resolved: $(alert_messages "$out" | cut -f1,2)"
[ "$(R scard "${P}quorum:issues")" -eq 0 ] || sw_fail "P quorum:issues still holds $(R smembers "${P}quorum:issues")"
sleep 2
[ "$(alert_count "$out" hook '^DOWN')" -eq 1 ] || sw_fail "DOWN told again"
sw_pass "healed: globally up, RESOLVED for the host, the outage and the location issue"
