#!/bin/bash
# End to end: the real daemon probes the namespace test fleet and writes to
# a private redis-server; synwatch-alert reads its events and tells the
# local receivers (webhook, fake Telegram, SMTP sink on 127.0.0.1).
# A watched PostgreSQL port stops listening: one DOWN on each routed channel
# with the right text, then a reminder (STILL DOWN, checked against the
# state the daemon keeps); it comes back: one RESOLVED on each. Nothing else.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli "$SW_PY"
sw_require_bin synwatch synwatch-alert fleet-responder
"$SW_BIN/synwatch" --help 2>&1 | grep -q -- "--redis" || sw_fail "this synwatch has no --redis"

sw_fleet_test ae dir --spec "open=4,ports=5432,layout=dense" --seed 3
sw_redis_up "$dir"
URL=unix://$dir/r.sock
R() { redis-cli -s "$dir/r.sock" "$@"; }
alert_sinks_up "$dir"

# the first open endpoint is the named database port; the others just watched
db=$(awk -F'\t' 'NR > 1 && $3 == "open" { print $1; exit }' "$dir/truth.tsv")
[ -n "$db" ] || sw_fail "the fleet has no open endpoint"
others=$(awk -F'\t' -v db="$db" 'NR > 1 && $3 == "open" && $1 != db { printf "\"%s:%s\", ", $1, $2 }' "$dir/truth.tsv")
n=$(awk -F'\t' 'NR > 1 && $3 == "open"' "$dir/truth.tsv" | wc -l)
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
  labels: { team: dba }
groups:
  - name: db
    labels: { criticality: critical }
    targets:
      - { host: $db, port: 5432, name: "Production DB - PostgreSQL 5432" }
    hosts: [${others%, }]
EOF
{
	printf 'redis: %s\ngroup_wait: 1s\nreminder: 3s\n' "$URL"
	printf 'delivery: { timeout: 2s, retries: 2, backoff: 200ms }\n'
	alert_channels
	cat <<EOF
routes:
  - match: [team=dba, "name=~.*PostgreSQL.*"]
    channels: [dba-telegram]
    continue: true
  - match: [criticality=critical]
    channels: [ops-webhook, oncall-mail]
EOF
} > "$dir/alert.yaml"

ip netns exec "$pns" "$SW_BIN/synwatch" -c "$dir/synwatch.yaml" --keep-privileges -q > "$dir/synwatch.out" \
	2> "$dir/synwatch.err" &
spid=$!
sw_cleanup_add "kill $spid 2>/dev/null"
ups() { [ "$(R ZCARD synwatch:idx:lab-1:up)" = "$n" ]; }
sw_wait_for 15 ups || sw_fail "not every endpoint came up in Redis: $(tail -3 "$dir/synwatch.err")"
alert_start "$dir"
sw_pass "the daemon writes $n endpoints up to Redis; the alerter reads its events"

# the database port stops listening: down (refused) from lab-1
t0=$(sw_now_ms)
sw_fleet set --name "$name" "$db:5432" closed || sw_fail "fleet set closed"
down="^DOWN Production DB - PostgreSQL 5432 \\(${db//./\\.}:5432\\): refused$"
alert_wait_all "$dir" "$down" 15
sw_info "told on all three channels $(($(sw_now_ms) - t0)) ms after the port closed"
text=$(alert_messages "$dir" | awk -F'\t' '$1 == "hook" { print $3; exit }')
grep -Eq '\|since [0-9:]+ UTC \(for [0-9]+s\)\|seen from lab-1\|group db, criticality=critical, team=dba$' <<< "$text" ||
	sw_fail "the text: $text"
"$SW_PY" "$SW_TOP/tests/integration/alert_check.py" hmac "$dir/hook.log" "$ALERT_SECRET" > /dev/null ||
	sw_fail "webhook signature"
sw_pass "DOWN on telegram, webhook and mail: $(alert_messages "$dir" | awk -F'\t' '$1 == "telegram" { print $2 }')"

# still down: a reminder on each channel
alert_wait_all "$dir" "^STILL ${down#^}" 15
sw_pass "a reminder while it lasts: $(alert_messages "$dir" | awk -F'\t' '$1 == "hook" && /STILL/ { print $2; exit }')"

# it comes back: one RESOLVED each
sw_fleet set --name "$name" "$db:5432" open || sw_fail "fleet set open"
resolved="^RESOLVED Production DB - PostgreSQL 5432 \\(${db//./\\.}:5432\\): up again after [0-9]+s$"
alert_wait_all "$dir" "$resolved" 15
sleep 1
for ch in telegram hook mail; do
	all=$(alert_count "$dir" $ch .)
	[ "$(alert_count "$dir" $ch "$down")" -eq 1 ] && [ "$(alert_count "$dir" $ch "$resolved")" -eq 1 ] &&
		[ "$(alert_count "$dir" $ch "^STILL ${down#^}")" -eq $((all - 2)) ] ||
		sw_fail "$ch got other messages too: $(alert_messages "$dir" | cut -f1,2)"
done
[ "$(R XPENDING synwatch:events alerters | head -1)" = 0 ] || sw_fail "events left unacknowledged"
kill "$ALERT_PID"
wait "$ALERT_PID" 2> /dev/null || sw_fail "synwatch-alert did not exit 0 on SIGTERM"
grep -q "AddressSanitizer\|runtime error" "$dir/alert.err" && sw_fail "sanitizer: $(grep -A5 Sanitizer "$dir/alert.err")"
sw_pass "end to end: a port down and back gave one DOWN, reminders and one RESOLVED on each routed channel"
