# Helpers of the alerting tests (test_alert.sh, test_alert_e2e.sh); source
# it after lib.sh. The receivers are tests/integration/alert_sinks.py, on
# 127.0.0.1 with ephemeral ports; the checks alert_check.py.

ALERT_SECRET=hook-secret
ALERT_TOKEN=123456:TEST-token
ALERT_CHAT=-100777

# alert_sinks_up DIR: a webhook receiver, a fake Telegram Bot API and an SMTP
# sink logging to DIR/{hook,tg,mail}.log; sets HOOK_PORT, TG_PORT, MAIL_PORT.
alert_sinks_up() {
	local dir=$1 s pid
	for s in hook:http tg:http mail:smtp; do
		"$SW_PY" "$SW_TOP/tests/integration/alert_sinks.py" "${s#*:}" "$dir/${s%%:*}.log" "$dir/${s%%:*}.port" \
			> "$dir/${s%%:*}.err" 2>&1 &
		pid=$!
		sw_cleanup_add "kill $pid 2>/dev/null"
	done
	for s in hook tg mail; do
		sw_wait_for 10 test -s "$dir/$s.port" || sw_fail "the $s receiver did not start: $(cat "$dir/$s.err")"
	done
	HOOK_PORT=$(cat "$dir/hook.port") TG_PORT=$(cat "$dir/tg.port") MAIL_PORT=$(cat "$dir/mail.port")
}

# alert_channels: the channels block of a configuration, for the receivers,
# plus dead-hook (a port nobody listens on).
alert_channels() {
	cat <<EOF2
channels:
  - name: ops-webhook
    type: webhook
    url: http://127.0.0.1:$HOOK_PORT/hooks/synwatch
    headers: { X-Team: ops }
    hmac_secret: "$ALERT_SECRET"
  - name: dba-telegram
    type: telegram
    bot_token: "$ALERT_TOKEN"
    chat_id: "$ALERT_CHAT"
    api_base: http://127.0.0.1:$TG_PORT
  - name: oncall-mail
    type: email
    smtp_url: smtp://127.0.0.1:$MAIL_PORT
    from: synwatch@alerts.example.test
    to: [oncall@example.test]
  - name: dead-hook
    type: webhook
    url: http://127.0.0.1:1/nobody
EOF2
}

# alert_start DIR [ARGS...]: synwatch-alert -c DIR/alert.yaml in the
# background, logging to DIR/alert.err (appended); sets ALERT_PID.
alert_start() {
	local dir=$1
	shift
	TZ=UTC "$SW_BIN/synwatch-alert" -c "$dir/alert.yaml" "$@" >> "$dir/alert.err" 2>&1 &
	ALERT_PID=$!
	sw_cleanup_add "kill $ALERT_PID 2>/dev/null"
	sw_wait_for 10 grep -q "reading .* in group" "$dir/alert.err" ||
		sw_fail "synwatch-alert did not start: $(tail -3 "$dir/alert.err")"
}

# alert_messages DIR: every message received, oldest first per channel:
# CHANNEL<TAB>FIRST LINE<TAB>TEXT<TAB>EXTRA
alert_messages() {
	"$SW_PY" "$SW_TOP/tests/integration/alert_check.py" messages "$1/hook.log" "$1/tg.log" "$1/mail.log"
}

# alert_count DIR CHANNEL PATTERN: how many messages on CHANNEL have a
# first line matching the extended regex PATTERN.
alert_count() {
	# the pattern through the environment: awk -v would eat its backslashes
	alert_messages "$1" | PAT=$3 awk -F'\t' -v ch="$2" '$1 == ch && $2 ~ ENVIRON["PAT"] { n++ } END { print n + 0 }'
}

# alert_has DIR CHANNEL PATTERN N: at least N such messages.
alert_has() {
	[ "$(alert_count "$1" "$2" "$3")" -ge "$4" ]
}

# alert_wait DIR CHANNEL PATTERN [N [SECONDS]]: waits for N (1) such messages.
alert_wait() {
	sw_wait_for "${5:-10}" alert_has "$1" "$2" "$3" "${4:-1}"
}

# alert_wait_all DIR PATTERN [SECONDS]: waits for a message like PATTERN on
# each of telegram, hook and mail; fails the test naming the one missing.
alert_wait_all() {
	local ch
	for ch in telegram hook mail; do
		alert_wait "$1" $ch "$2" 1 "${3:-10}" ||
			sw_fail "no '$2' on $ch: $(alert_messages "$1" | cut -f1,2; tail -5 "$1/alert.err")"
	done
}
