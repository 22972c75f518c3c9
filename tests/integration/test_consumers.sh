#!/bin/bash
# synwatch-top and synwatch-exporter (with its status page) against a private
# redis-server holding a fleet written exactly as docs/redis.md lays it out
# (consumers_fixture.py: 36 targets in fra1 and ams1, every state, latency
# minutes in the docs/latency.md text form, events, probers).
#
#   top --once: counts, the trouble list side by side, sparklines, probers;
#   top in tmux: keys q, /, l, resize, and the terminal given back;
#   exporter: /metrics parsed strictly, /api/*, static files, errors;
#   the page rendered in headless Chromium (DOM asserted, screenshots);
#   a slow fleet's scrape served from the last snapshot (--stale);
#   Redis going away: synwatch_up 0, 503 from the API, top exits 1.
#
# No root needed. SW_SCREENSHOT_DIR=DIR keeps the screenshots (docs/img).
. "$(dirname "$0")/lib.sh"

sw_require_cmd redis-server redis-cli curl tmux chromium "$SW_PY"
TOP=$SW_BIN/synwatch-top
EXP=$SW_BIN/synwatch-exporter
[ -x "$TOP" ] && [ -x "$EXP" ] || sw_fail "no synwatch-top / synwatch-exporter in '$SW_BIN'; run make"
here=$SW_TOP/tests/integration
check() { "$SW_PY" "$here/consumers_check.py" "$@" || sw_fail "consumers_check.py $1"; }

sw_tmpdir dir
sw_redis_up "$dir"
sock=$dir/r.sock
URL=unix://$sock
"$SW_PY" "$here/consumers_fixture.py" --expect "$dir/expect.json" | redis-cli -s "$sock" --pipe > "$dir/load.log" ||
	sw_fail "loading the fixture: $(tail -2 "$dir/load.log")"
grep -q "errors: 0" "$dir/load.log" || sw_fail "fixture load: $(tail -1 "$dir/load.log")"
sw_pass "fixture loaded ($(redis-cli -s "$sock" dbsize) keys)"

# ---- bad input: one line, the right exit code ----
expect_exit() { # CODE PATTERN CMD...
	local want=$1 pat=$2 rc
	shift 2
	"$@" > "$dir/out" 2> "$dir/err" < /dev/null
	rc=$?
	[ $rc -eq "$want" ] || sw_fail "'$*' exited $rc, want $want: $(cat "$dir/err")"
	grep -q -- "$pat" "$dir/err" || sw_fail "'$*': stderr lacks '$pat': $(cat "$dir/err")"
	[ "$(wc -l < "$dir/err")" -eq 1 ] || sw_fail "'$*': want one line on stderr, got: $(cat "$dir/err")"
}
expect_exit 2 "expected redis://" "$TOP" --once --redis http://x
expect_exit 1 "nope.sock" "$TOP" --once --redis "unix://$dir/nope.sock"
expect_exit 2 "not a terminal" "$TOP" --redis "$URL"
expect_exit 2 "unknown option" "$TOP" --bogus
expect_exit 2 "--width" "$TOP" --once --width 5
expect_exit 2 "--listen 'nonsense'" "$EXP" --listen nonsense
expect_exit 1 "nope.sock" "$EXP" --redis "unix://$dir/nope.sock" --listen 127.0.0.1:0
redis-cli -s "$sock" set other:schema 2 > /dev/null
expect_exit 1 "has schema 2, this program reads 1" "$TOP" --once --redis "$URL" --prefix other:
sw_pass "bad usage exits 2, unreachable Redis and a foreign schema exit 1, one line each"

# ---- synwatch-top --once ----
"$TOP" --once --redis "$URL" --width 130 > "$dir/top.txt" 2> "$dir/top.err" || sw_fail "top --once: $(cat "$dir/top.err")"
grep -q $'\033' "$dir/top.txt" && sw_fail "top --once printed escape codes"
grep -Eq '^ fra1 +29 +2 +3 +1 +1 +36$' "$dir/top.txt" || sw_fail "fra1 counts: $(grep fra1 "$dir/top.txt" | head -2)"
grep -Eq '^ ams1 +31 +1 +3 +0 +1 +36$' "$dir/top.txt" || sw_fail "ams1 counts"
grep -Eq '^ total +60 +3 +6 +1 +2 +72$' "$dir/top.txt" || sw_fail "total counts"
trouble=$(sed -n '/TROUBLE/,/SLOWEST/p' "$dir/top.txt")
for t in $("$SW_PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(" ".join(sorted({t for d in e["down"].values() for t,_ in d})))' "$dir/expect.json"); do
	grep -q "^ $t .*down" <<< "$trouble" || sw_fail "top: $t is not listed down: $trouble"
done
# side by side: db-7 is down in fra1 only, web-25 in ams1 only (ams1 is the first column);
# db-7's postgres check fails in both, its server's words under it, from fra1, where it is down
grep -Eq '^ 198\.18\.0\.8:5432 +db-7 +db +up, check fails +down ' <<< "$trouble" || sw_fail "db-7 side by side: $(grep db-7 <<< "$trouble")"
grep -A1 '^ 198\.18\.0\.8:5432 ' <<< "$trouble" | grep -Eq '^   5432/postgres  FATAL: sorry, too many clients already  \(fra1\)$' ||
	sw_fail "db-7's check line: $(grep -A1 db-7 <<< "$trouble")"
grep -A1 '^ 198\.18\.0\.15:443 ' <<< "$trouble" |
	grep -Eq '^   443/https  certificate expires in 5 days \([0-9-]{10}\) CN=web-14\.example\.test$' ||
	sw_fail "web-14's certificate line: $(grep -A1 web-14 <<< "$trouble")"
sed -n '/CERTIFICATES/,/^$/p' "$dir/top.txt" | sed -n 3p | grep -Eq '^ 198\.18\.0\.15:443 +all +web-14 +5d  ' ||
	sw_fail "the certificate soonest to expire: $(sed -n '/CERTIFICATES/,/^$/p' "$dir/top.txt")"
grep -Eq '^ 198\.18\.0\.26:80 +web-25 +web +down .* up$' <<< "$trouble" || sw_fail "web-25 side by side"
# the longest down first
[ "$(sed -n '3p' <<< "$trouble" | awk '{print $1}')" = 198.18.0.12:5432 ] || sw_fail "the longest down is not first"
grep -Eq '[▁▂▃▄▅▆▇█]{20,}' "$dir/top.txt" || sw_fail "no sparkline: $(sed -n '/SLOWEST/,/EVENTS/p' "$dir/top.txt")"
grep -Eq '^ ams1/probe-b .*1234 +OVERLOADED$' "$dir/top.txt" || sw_fail "prober ams1/probe-b not overloaded"
grep -Eq '^ fra1/probe-old +20m0[0-9]s .* GONE$' "$dir/top.txt" || sw_fail "prober fra1/probe-old not GONE"
# the gone prober first, under the title; fra1 still has probe-a
sed -n 2p "$dir/top.txt" | grep -Eq '^ PROBER fra1/probe-old GONE: no heartbeat for 20m0[0-9]s \(last [0-9:]{8}\); fra1 still has 1 live prober$' ||
	sw_fail "no GONE line under the title: $(sed -n 1,3p "$dir/top.txt")"
grep -q "no prober has written here yet" "$dir/top.txt" && sw_fail "top says nobody wrote, with probers in Redis"
grep -q 'host_down .*198.18.0.4 (1 watched ports)' "$dir/top.txt" || sw_fail "no host_down event"
grep -q 'db "primary" \\ eu' "$dir/top.txt" || sw_fail "the tricky name is not shown as it is"
sw_pass "top --once: counts per location and total, trouble side by side with the checks' words, certificates, sparklines, probers (one GONE, said first), events"

# the events pane: a gap after every column; outages alone with --events outages (key e)
events=$(sed -n '/EVENTS/,$p' "$dir/top.txt")
grep -Eq ' (fra1|ams1) +host_down +198\.18\.0\.4 ' <<< "$events" || sw_fail "the host_down event's columns: $events"
grep -Eq '→ (degraded|flapping)' <<< "$events" || sw_fail "all events: no flap or slowness in $events"
"$TOP" --once --redis "$URL" --width 130 --events outages > "$dir/o.txt" || sw_fail "top --events outages"
events=$(sed -n '/EVENTS/,$p' "$dir/o.txt")
grep -q 'EVENTS (outages' <<< "$events" || sw_fail "--events outages: no title: $events"
grep -q ' up → down ' <<< "$events" && grep -q 'host_down' <<< "$events" && grep -q 'prober_isolated' <<< "$events" ||
	sw_fail "--events outages lost an outage: $events"
grep -Eq '→ (degraded|flapping)' <<< "$events" && sw_fail "--events outages shows flaps or slowness: $events"
expect_exit 2 "--events 'some': expected all or outages" "$TOP" --once --redis "$URL" --events some
# no targets is not "every target is up"
redis-cli -s "$sock" set empty:schema 1 > /dev/null
"$TOP" --once --redis "$URL" --prefix empty: --location lab > "$dir/e.txt" || sw_fail "top on an empty prefix"
grep -q '^ no targets here yet$' "$dir/e.txt" || sw_fail "no targets: $(sed -n '/TROUBLE/,/SLOWEST/p' "$dir/e.txt")"
grep -q 'every target is up' "$dir/e.txt" && sw_fail "top says every target is up with no targets"
sw_pass "top --once: events in columns, --events outages, no targets said as such"

"$TOP" --once --redis "$URL" --filter db-7 > "$dir/f.txt" || sw_fail "top --filter"
[ "$(sed -n '/TROUBLE/,/SLOWEST/p' "$dir/f.txt" | grep -c '^ 198\.')" -eq 1 ] || sw_fail "filter db-7: $(cat "$dir/f.txt")"
"$TOP" --once --redis "$URL" --view ams1 > "$dir/v.txt" || sw_fail "top --view"
grep -q '^ fra1 ' "$dir/v.txt" && sw_fail "--view ams1 shows fra1 counts"
grep -q 'web-25' "$dir/v.txt" && ! grep -q '198.18.0.8:5432 .*down' "$dir/v.txt" || sw_fail "--view ams1 trouble list"
sw_pass "top --once --filter and --view"

# ---- synwatch-top in tmux ----
tsock=sw-top-$$
tm() { tmux -L "$tsock" -f /dev/null "$@"; }
# (newest first: after the tmux server, a top still there is killed; an
# ASan build hung once in LeakSanitizer's exit after the pane's SIGHUP,
# at 100 % CPU, for the rest of the machine's day)
sw_cleanup_add "pkill -9 -f -- \"synwatch-top --redis $URL\\$\""
sw_cleanup_add "tmux -L '$tsock' kill-server"
tm new-session -d -x 140 -y 48 "'$TOP' --redis '$URL'; echo \"exit=\$?\" > '$dir/top.exit'; sleep 30" ||
	sw_fail "tmux did not start"
screen() { tm capture-pane -p; }
shows() { screen | grep -q -- "$1"; }
sw_wait_for 10 shows "TROUBLE" || sw_fail "top did not draw in tmux: $(screen)"
shows "every target is up" && sw_fail "top in tmux shows no trouble"
[ "$(screen | tail -1 | grep -c 'q quit')" -eq 1 ] || sw_fail "no key help on the last line: $(screen | tail -2)"
tm send-keys / w e b - 2 5
sw_wait_for 3 shows "filter: web-25" || sw_fail "the filter prompt: $(screen | tail -2)"
rows=$(screen | sed -n '/TROUBLE/,/SLOWEST/p' | grep -c '^ 198\.')
[ "$rows" -eq 1 ] || sw_fail "filter web-25 shows $rows trouble rows: $(screen)"
tm send-keys Enter l
sw_wait_for 3 shows "view: ams1" || sw_fail "l did not switch to ams1: $(screen | head -1)"
tm send-keys Escape l
sw_wait_for 3 shows "view: fra1" || sw_fail "l did not switch to fra1"
tm resize-window -x 90 -y 30
sw_wait_for 3 sh -c "[ \"\$(tmux -L '$tsock' -f /dev/null capture-pane -p | tail -1 | grep -c 'q quit')\" = 1 ]" ||
	sw_fail "after a resize the footer is not on the last line: $(screen)"
width=$(screen | "$SW_PY" -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))')
[ "$width" -le 90 ] || sw_fail "after a resize to 90 columns a line is $width wide"
tm send-keys q
sw_wait_for 5 test -s "$dir/top.exit" || sw_fail "q did not quit: $(screen)"
grep -q "exit=0" "$dir/top.exit" || sw_fail "top exited with $(cat "$dir/top.exit")"
shows "TROUBLE" && sw_fail "the alternate screen was not left after q"
sw_pass "top in tmux: filter, location view, resize, q quits with the terminal restored"

# ---- the exporter ----
sw_exporter_up "$dir/exp.log" base --redis "$URL"
exp_pid=$SW_EXPORTER_PID
grep -q "web .*tools/web" "$dir/exp.log" || sw_fail "the exporter did not find tools/web next to it: $(cat "$dir/exp.log")"

curl -sf "$base/metrics" -o "$dir/metrics.txt" -D "$dir/metrics.hdr" || sw_fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$dir/metrics.hdr" || sw_fail "metrics content type"
check metrics "$dir/metrics.txt" "$dir/expect.json"
curl -sf "$base/api/summary" -o "$dir/summary.json" || sw_fail "GET /api/summary"
check summary "$dir/summary.json" "$dir/expect.json"
curl -sf "$base/api/targets?state=down&limit=100" -o "$dir/targets.json" || sw_fail "GET /api/targets"
check targets "$dir/targets.json" "$dir/expect.json"
curl -sf "$base/api/target?t=198.18.0.6:80" -o "$dir/target.json" || sw_fail "GET /api/target"
check target "$dir/target.json" "$dir/expect.json"
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(status "$base/api/target?t=nonsense")" = 400 ] || sw_fail "a bad target is not a 400"
[ "$(status "$base/api/target?t=198.18.9.9:1")" = 404 ] || sw_fail "an unknown target is not a 404"
[ "$(status "$base/api/targets?state=bogus")" = 400 ] || sw_fail "a bad state is not a 400"
[ "$(status "$base/api/targets?q=web&location=ams1&limit=5")" = 200 ] || sw_fail "targets with q and location"
[ "$(status -X POST "$base/metrics")" = 405 ] || sw_fail "POST is not a 405"
[ "$(status "$base/")" = 200 ] || sw_fail "GET / is not the page"
[ "$(status --path-as-is "$base/../../etc/passwd")" = 404 ] || sw_fail "a path outside the web dir is served"
[ "$(status "$base/.hidden")" = 404 ] || sw_fail "a dot file is served"
curl -s -D - -o /dev/null "$base/app.js" | grep -qi 'content-type: text/javascript' || sw_fail "app.js content type"
sw_pass "exporter: status codes and static files"

# ---- the page in headless Chromium ----
chrome() { # OUT URL [ARGS]
	local out=$1 url=$2
	shift 2
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/chrome" \
		--window-size="${CHROME_SIZE:-1280,800}" --virtual-time-budget=6000 "$@" "$url" > "$out" 2> "$dir/chrome.log" ||
		sw_fail "chromium on $url: $(tail -3 "$dir/chrome.log")"
}
chrome "$dir/overview.html" "$base/" --dump-dom
check dom-overview "$dir/overview.html" "$dir/expect.json"
chrome "$dir/target.html" "$base/#/target/198.18.0.6:80" --dump-dom
check dom-target "$dir/target.html" "$dir/expect.json"
chrome /dev/null "$base/" --screenshot="$dir/overview.png"
chrome /dev/null "$base/#/target/198.18.0.2:80" --screenshot="$dir/target.png"
for f in overview target; do
	[ "$(stat -c %s "$dir/$f.png")" -gt 20000 ] || sw_fail "the $f screenshot is nearly empty"
done
if [ -n "${SW_SCREENSHOT_DIR:-}" ]; then
	mkdir -p "$SW_SCREENSHOT_DIR" && cp "$dir/overview.png" "$dir/target.png" "$SW_SCREENSHOT_DIR/" ||
		sw_fail "cannot copy the screenshots to '$SW_SCREENSHOT_DIR'"
fi
sw_pass "page rendered in Chromium: overview and target page asserted, screenshots taken"

# ---- the page on a phone, a tablet and a desktop ----
# tests/web/layout.js measures the page: a copy of index.html loads it too
mkdir "$dir/web" && cp "$SW_TOP"/tools/web/* "$SW_TOP/tests/web/layout.js" "$dir/web/" || sw_fail "cannot copy the page"
sed 's|</body>|<script src="layout.js" defer></script>\n</body>|' "$SW_TOP/tools/web/index.html" > "$dir/web/layout.html"
sw_exporter_up "$dir/exp-layout.log" lay --redis "$URL" --web "$dir/web"
for page in "" "#/target/198.18.0.15:443"; do
	for w in 420 800 1400; do
		CHROME_SIZE=$w,1000 chrome "$dir/layout.dom" "$lay/layout.html?w=$w$page" --dump-dom
		res=$(grep -o '<pre id="layout">[^<]*' "$dir/layout.dom" | sed 's/<pre id="layout">//; s/&quot;/"/g')
		"$SW_PY" -c 'import json, sys
r = json.loads(sys.argv[2])
sys.exit(1 if r["problems"] or r["width"] != int(sys.argv[1]) or not r["counts"][".panel"] else 0)' "$w" "${res:-null}" 2> /dev/null ||
			sw_fail "the page at $w px (${page:-overview}): ${res:-not measured}"
	done
done
sw_pass "page at 420, 800 and 1400 px, overview and target page: nothing sticks out, overlaps or is cut"

# ---- a slow fleet: the last snapshot at once, the next read behind it ----
# (CLIENT PAUSE holds the exporter's read, as a million state hashes would)
sw_exporter_up "$dir/exp2.log" base2 --redis "$URL" --max-age 300ms --stale 30s
exp2_pid=$SW_EXPORTER_PID
snap_ts() { awk '$1 == "synwatch_exporter_snapshot_timestamp_seconds" { print $2 }' "$1"; }
scrape() { # FILE: /metrics into FILE; prints how long it took, in ms
	local t0
	t0=$(sw_now_ms)
	curl -sf --max-time 10 "$base2/metrics" -o "$1" || sw_fail "GET /metrics (slow fleet)"
	echo $(($(sw_now_ms) - t0))
}
scrape "$dir/s1.txt" > /dev/null
sleep 0.4
redis-cli -s "$sock" client pause 1500 all > /dev/null
ms=$(scrape "$dir/s2.txt")
[ "$ms" -ge 1000 ] || sw_fail "the read under CLIENT PAUSE took $ms ms, want the pause's 1.5 s"
[ "$(snap_ts "$dir/s2.txt")" != "$(snap_ts "$dir/s1.txt")" ] || sw_fail "the slow read gave no new snapshot"
sleep 0.4
redis-cli -s "$sock" client pause 1500 all > /dev/null
ms=$(scrape "$dir/s3.txt")
[ "$ms" -lt 500 ] || sw_fail "a scrape of a slow fleet waited $ms ms for the read"
[ "$(snap_ts "$dir/s3.txt")" = "$(snap_ts "$dir/s2.txt")" ] || sw_fail "the scrape during the read is not the last snapshot"
grep -q '^synwatch_up 1$' "$dir/s3.txt" || sw_fail "the last snapshot served is not whole: $(head -3 "$dir/s3.txt")"
sleep 2 # the read behind it lands
scrape "$dir/s4.txt" > /dev/null
"$SW_PY" -c 'import sys; sys.exit(float(sys.argv[1]) <= float(sys.argv[2]))' "$(snap_ts "$dir/s4.txt")" \
	"$(snap_ts "$dir/s3.txt")" || sw_fail "no newer snapshot after the background read"
check metrics "$dir/s4.txt" "$dir/expect.json"
kill -TERM $exp2_pid
wait $exp2_pid || sw_fail "the second exporter exited $? on SIGTERM: $(tail -5 "$dir/exp2.log")"
sw_pass "a slow fleet: a scrape gets the last snapshot in $ms ms while the next is read (--stale)"

# ---- Redis goes away ----
kill "$(sw_redis_pid "$dir")"
sw_wait_for 5 sh -c "! test -S '$sock'" || true
sleep 1.1 # the snapshot's --max-age
curl -sf "$base/metrics" -o "$dir/down.txt" || sw_fail "/metrics without Redis is not a 200"
grep -q '^synwatch_up 0$' "$dir/down.txt" || sw_fail "synwatch_up is not 0 without Redis: $(head -5 "$dir/down.txt")"
[ "$(status "$base/api/summary")" = 503 ] || sw_fail "/api/summary without Redis is not a 503"
expect_exit 1 "r.sock" "$TOP" --once --redis "$URL"
kill -TERM $exp_pid
wait $exp_pid
rc=$?
[ $rc -eq 0 ] || sw_fail "the exporter exited $rc on SIGTERM: $(tail -5 "$dir/exp.log")"
sw_pass "without Redis: synwatch_up 0, API 503, top exits 1; the exporter stops cleanly"
