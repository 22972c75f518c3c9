#!/bin/bash
# synwatch-alert against a private redis-server (unix socket) and real local
# receivers (a webhook receiver, a fake Telegram Bot API, an SMTP sink, all
# on 127.0.0.1), with events written to P events exactly as docs/redis.md
# describes them:
#   one alert on each routed channel with the right text, the HMAC header
#   valid, the Telegram request a sendMessage; one message for two locations;
#   the resolve after the up event; host_down holding back its port alerts,
#   its resolve, and a port still down after its host came back; a silence
#   set with synwatch-ctl holding an alert back; a failing channel not
#   blocking the others; kill -9 in the middle of a slow delivery and the
#   event delivered on restart, the channel that had it not told twice.
# No root needed.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sw_require_cmd redis-server redis-cli "$SW_PY"
[ -x "$SW_BIN/synwatch-alert" ] && [ -x "$SW_BIN/synwatch-ctl" ] || sw_fail "no synwatch-alert / synwatch-ctl in '$SW_BIN'"

sw_tmpdir dir
sw_redis_up "$dir"
URL=unix://$dir/r.sock
R() { redis-cli -s "$dir/r.sock" "$@"; }
alert_sinks_up "$dir"
{
	cat <<EOF
redis: $URL
group_wait: 1s
reminder: 0
host_settle: 2s
delivery: { timeout: 2s, retries: 1, backoff: 200ms, max_backoff: 400ms }
EOF
	alert_channels
	cat <<EOF
routes:
  - match: [team=dba]
    channels: [dba-telegram]
    continue: true
  - match: [team=net]
    channels: [dead-hook, dba-telegram]
  - match: [criticality=critical]
    channels: [ops-webhook, oncall-mail]
EOF
} > "$dir/alert.yaml"
"$SW_BIN/synwatch-alert" -c "$dir/alert.yaml" --check > /dev/null || sw_fail "the test's configuration is refused"

# bad input: one line naming what is wrong; 2 for usage, 1 when Redis is not there
expect_exit() { # CODE PATTERN ARGS...
	local want=$1 pat=$2 rc
	shift 2
	"$SW_BIN/synwatch-alert" "$@" > /dev/null 2> "$dir/err" < /dev/null
	rc=$?
	[ $rc -eq "$want" ] || sw_fail "'synwatch-alert $*' exited $rc, want $want: $(cat "$dir/err")"
	grep -qF -- "$pat" "$dir/err" && [ "$(wc -l < "$dir/err")" -eq 1 ] ||
		sw_fail "'synwatch-alert $*': want one line with '$pat', got: $(cat "$dir/err")"
}
printf 'channels: [{ name: h, type: webhook, url: "http://127.0.0.1:9/" }]\nroutes: [{ channels: [hh] }]\n' > "$dir/bad.yaml"
expect_exit 2 "no configuration" --redis "$URL"
expect_exit 2 "$dir/bad.yaml:2:22: route #1: unknown channel 'hh' (channels: h)" -c "$dir/bad.yaml"
expect_exit 2 "cannot open '$dir/none.yaml'" -c "$dir/none.yaml"
expect_exit 2 "unknown option '--bogus'" -c "$dir/alert.yaml" --bogus
expect_exit 2 "expected redis://" -c "$dir/alert.yaml" --redis http://127.0.0.1
expect_exit 1 "cannot connect to redis at unix://$dir/nope.sock" -c "$dir/alert.yaml" --redis "unix://$dir/nope.sock"
sw_pass "bad usage and a bad file exit 2, an unreachable Redis 1, one line each"
R SET synwatch:schema 1 > /dev/null
alert_start "$dir"

seq=0
now_ns() { date +%s%N; }
# event KIND FIELD VALUE...: one entry of P events as a prober writes it,
# from fra1 unless the fields say another location
event() {
	local where=(location fra1 prober fra1/probe-1)
	[[ " ${*:2} " == *" location "* ]] && where=()
	seq=$((seq + 1))
	R XADD synwatch:events '*' id "00000000000000ab-$seq" kind "$1" ts "$(now_ns)" "${@:2}" "${where[@]}" \
		> /dev/null || sw_fail "XADD"
}
# state TARGET FROM TO REASON [FIELD VALUE...]
state() {
	local t=$1
	shift
	event state target "$t" ip "${t%:*}" port "${t##*:}" from "$1" to "$2" reason "$3" "${@:4}"
}
pending() { R XPENDING synwatch:events alerters | head -1; }
no_pending() { [ "$(pending)" = 0 ]; }
count() { alert_count "$dir" "$@"; }
exactly() { # CHANNEL PATTERN N
	local got
	got=$(count "$1" "$2")
	[ "$got" -eq "$3" ] || sw_fail "$1: $got messages like '$2', want $3: $(alert_messages "$dir" | cut -f1,2)"
}
DBA='{"team":"dba","criticality":"critical"}'

# ---- one alert on each routed channel, with the right text ----
PG="Production DB - PostgreSQL 5432"
t0=$(now_ns)
state 198.18.1.9:5432 up down refused name "$PG" group db labels "$DBA" since "" rtt_us ""
# the same outage from a second location joins it
state 198.18.1.9:5432 up down timeout name "$PG" group db labels "$DBA" since "" location ams2 prober ams2/probe-1
down='^DOWN Production DB - PostgreSQL 5432 \(198\.18\.1\.9:5432\): refused$'
alert_wait_all "$dir" "$down"
sleep 0.5
for ch in telegram hook mail; do exactly $ch "$down" 1; done
text=$(alert_messages "$dir" | awk -F'\t' '$1 == "telegram" { print $3; exit }')
grep -Eq '\|since [0-9]{2}:[0-9]{2}:[0-9]{2} UTC \(for [0-9]+s\)\|seen from ams2, fra1\|group db, team=dba, criticality=critical$' <<< "$text" ||
	sw_fail "the text is not as expected: $text"
[ "$("$SW_PY" "$SW_TOP/tests/integration/alert_check.py" hmac "$dir/hook.log" "$ALERT_SECRET")" -ge 1 ] ||
	sw_fail "webhook signature"
"$SW_PY" "$SW_TOP/tests/integration/alert_check.py" telegram "$dir/tg.log" "$ALERT_TOKEN" "$ALERT_CHAT" > /dev/null ||
	sw_fail "telegram request"
grep -q '"x-team": "ops"' "$dir/hook.log" || sw_fail "the webhook's own header is missing"
"$SW_PY" - "$dir/hook.log" <<'PY' || sw_fail "webhook body"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"] != "request":
        continue
    b = json.loads(r["body"])
    assert b["status"] == "firing" and b["alert"] == "down", b
    assert b["kind"] == "state" and b["target"] == "198.18.1.9:5432" and b["to"] == "down", b
    assert b["labels"] == {"team": "dba", "criticality": "critical"}, b
    assert b["locations"] == ["ams2", "fra1"] and b["entry"], b
    break
else:
    sys.exit("no webhook request")
PY
grep -q "mail.*oncall@example.test" <(alert_messages "$dir") || sw_fail "mail recipient"
sw_wait_for 5 no_pending || sw_fail "events still pending after delivery: $(pending)"
sw_pass "DOWN told once on telegram, webhook and mail (two locations, one message), HMAC valid, events acknowledged"

# ---- the resolve: ams2 recovers first (still down in fra1), then fra1 ----
state 198.18.1.9:5432 down up open name "$PG" group db labels "$DBA" since "$t0" location ams2 prober ams2/probe-1
sleep 1.5
exactly telegram '^RESOLVED' 0
state 198.18.1.9:5432 down up open name "$PG" group db labels "$DBA" since "$t0"
resolved='^RESOLVED Production DB - PostgreSQL 5432 \(198\.18\.1\.9:5432\): up again after [0-9]+s$'
alert_wait_all "$dir" "$resolved"
grep -q '"status": "resolved"\|\\"status\\":\\"resolved\\"' "$dir/hook.log" || sw_fail "the webhook's status is not resolved"
[ "$(R HLEN synwatch:alert:alerters:open)" = 0 ] || sw_fail "the alert is still open: $(R HGETALL synwatch:alert:alerters:open)"
sw_pass "RESOLVED told when the last location recovered, not before"

# ---- host_down holds back the port alerts; one HOST DOWN, one RESOLVED ----
HOSTL='{"team":"dba","criticality":"critical"}'
th=$(now_ns)
state 198.18.2.1:22 up down refused name db-3.example.test group db labels "$HOSTL" since ""
event host_down ip 198.18.2.1 ports 2
hid=00000000000000ab-$seq
state 198.18.2.1:80 up down timeout name db-3.example.test group db labels "$HOSTL" since "" host_event "$hid"
host='^HOST DOWN db-3\.example\.test \(198\.18\.2\.1\): all 2 watched ports down$'
alert_wait_all "$dir" "$host"
sleep 1.5
for ch in telegram hook mail; do
	exactly $ch "$host" 1
	exactly $ch '^DOWN db-3' 0
done
alert_messages "$dir" | grep -q 'HOST DOWN.*|ports: 22, 80|' || sw_fail "no ports line: $(alert_messages "$dir" | grep HOST)"
grep -q "down:198.18.2.1:22: held: its host 198.18.2.1 is down" "$dir/alert.err" || sw_fail "port 22 was not held"
event host_up ip 198.18.2.1 ports 2 since "$th"
state 198.18.2.1:80 down up open name db-3.example.test group db labels "$HOSTL" since "$th" host_event "$hid"
state 198.18.2.1:22 down up open name db-3.example.test group db labels "$HOSTL" since "$th"
alert_wait "$dir" telegram '^RESOLVED host db-3\.example\.test \(198\.18\.2\.1\): answering again after' ||
	sw_fail "no host RESOLVED"
sleep 1
exactly telegram '^RESOLVED host db-3' 1
exactly telegram 'db-3.*:(22|80)\)' 0
sw_pass "host_down: one HOST DOWN with its ports, port alerts held, one RESOLVED for the host"

# a port still down after its host came back is told on its own, after host_settle
state 198.18.2.2:22 up down refused name db-4.example.test labels "$HOSTL" since ""
event host_down ip 198.18.2.2 ports 2
hid=00000000000000ab-$seq
state 198.18.2.2:80 up down refused name db-4.example.test labels "$HOSTL" since "" host_event "$hid"
alert_wait "$dir" telegram '^HOST DOWN db-4' || sw_fail "no HOST DOWN for db-4"
R HSET synwatch:state:fra1:198.18.2.2:22 state down > /dev/null
event host_up ip 198.18.2.2 ports 2 since "$(now_ns)"
state 198.18.2.2:80 down up open name db-4.example.test labels "$HOSTL" since "" host_event "$hid"
alert_wait "$dir" telegram '^DOWN db-4\.example\.test \(198\.18\.2\.2:22\): refused$' 1 10 ||
	sw_fail "port 22 of db-4 was not told after its host came back: $(tail -5 "$dir/alert.err")"
alert_messages "$dir" | grep -q 'DOWN db-4.*still down after its host came back' || sw_fail "no note on the held port"
exactly telegram '^DOWN db-4.*:80\)' 0
sw_pass "a port still down host_settle after its host came back is told on its own"

# ---- a silence set with synwatch-ctl holds an alert back ----
sid=$("$SW_BIN/synwatch-ctl" --redis "$URL" --json silence add target=198.18.3.3:443 --for 10m --comment "test" |
	"$SW_PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])') || sw_fail "silence add"
state 198.18.3.3:443 up down refused name "Silenced Web" labels "$DBA" since ""
sw_wait_for 5 grep -q "down:198.18.3.3:443: silenced by $sid: test" "$dir/alert.err" ||
	sw_fail "no 'silenced' line: $(tail -3 "$dir/alert.err")"
sleep 1
for ch in telegram hook mail; do exactly $ch 'Silenced Web' 0; done
sw_wait_for 5 no_pending || sw_fail "the silenced event is not acknowledged"
"$SW_BIN/synwatch-ctl" --redis "$URL" silence remove "$sid" > /dev/null || sw_fail "silence remove"
sw_pass "a silence set with synwatch-ctl held the alert back; the event was acknowledged"

# ---- a failing channel does not block the others ----
state 198.18.4.4:8080 up down refused name "Core Router" labels '{"team":"net","criticality":"low"}' since ""
alert_wait "$dir" telegram '^DOWN Core Router' || sw_fail "telegram did not get it while dead-hook fails"
sw_wait_for 5 grep -q "channel 'dead-hook' is failing" "$dir/alert.err" || sw_fail "no 'is failing' line"
sw_wait_for 5 grep -q "channel 'dead-hook' is broken: gave up on a message after 2 attempts" "$dir/alert.err" ||
	sw_fail "no 'is broken' line: $(grep dead-hook "$dir/alert.err")"
sw_wait_for 5 no_pending || sw_fail "the event is not acknowledged after dead-hook gave up"
sw_pass "dead-hook failing and given up (logged), telegram delivered, the event acknowledged"

# ---- two alerters in one group: every alert told once, whoever reads what ----
first=$ALERT_PID
alert_start "$dir"
second=$ALERT_PID
ALERT_PID=$first
for i in 1 2 3 4; do
	for loc in fra1 ams2; do
		state "198.18.6.$i:443" up down refused name "Shared $i" labels "$DBA" since "" location $loc prober $loc/p
	done
done
alert_wait "$dir" telegram '^DOWN Shared ' 4 || sw_fail "not every shared alert was told: $(tail -5 "$dir/alert.err")"
for i in 1 2 3 4; do
	for loc in ams2 fra1; do
		state "198.18.6.$i:443" down up open name "Shared $i" labels "$DBA" since "" location $loc prober $loc/p
	done
done
alert_wait "$dir" telegram '^RESOLVED Shared ' 4 || sw_fail "not every shared alert was resolved"
sleep 1
for i in 1 2 3 4; do
	exactly telegram "^DOWN Shared $i " 1
	exactly telegram "^RESOLVED Shared $i " 1
done
kill "$second"
wait "$second" 2> /dev/null || sw_fail "the second alerter did not exit 0"
sw_pass "two alerters sharing the group: four alerts from two locations told once each, resolved once each"

# ---- kill -9 while a delivery hangs: delivered on restart, not twice elsewhere ----
begins() { awk '/"begin"/ { n++ } END { print n + 0 }' "$dir/hook.log"; }
before=$(begins)
echo 20 > "$dir/hook.log.slow"
state 198.18.5.5:443 up down refused name "Crash Test" labels '{"criticality":"critical"}' since ""
called() { [ "$(begins)" -gt "$before" ]; }
sw_wait_for 5 called || sw_fail "the webhook was not called: $(tail -3 "$dir/alert.err"; tail -2 "$dir/hook.log")"
alert_wait "$dir" mail '^DOWN Crash Test' || sw_fail "mail did not get it"
kill -9 "$ALERT_PID"
wait "$ALERT_PID" 2> /dev/null
[ "$(pending)" -ge 1 ] || sw_fail "nothing pending after kill -9: it was acknowledged before delivery"
rm -f "$dir/hook.log.slow"
alert_start "$dir"
alert_wait "$dir" hook '^DOWN Crash Test' 1 10 || sw_fail "not delivered after the restart: $(tail -5 "$dir/alert.err")"
grep -q "took over 1 unacknowledged event" "$dir/alert.err" || sw_fail "no take-over line"
sw_wait_for 5 no_pending || sw_fail "still pending after the restart"
sleep 0.5
exactly mail '^DOWN Crash Test' 1
exactly hook '^DOWN Crash Test' 1
sw_pass "kill -9 mid-delivery: the event was redelivered on restart, and mail, already told, not again"

kill "$ALERT_PID"
wait "$ALERT_PID" 2> /dev/null
rc=$?
[ $rc -eq 0 ] || sw_fail "synwatch-alert exited $rc on SIGTERM: $(tail -3 "$dir/alert.err")"
grep -q "AddressSanitizer\|runtime error" "$dir/alert.err" && sw_fail "sanitizer: $(grep -A5 Sanitizer "$dir/alert.err")"
sw_pass "alerting: $(alert_messages "$dir" | wc -l) messages checked"
