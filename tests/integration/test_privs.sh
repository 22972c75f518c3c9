#!/bin/bash
# Least privilege: after start-up synwatch runs as the --user given, with
# no capability and no_new_privs, and still measures; an unknown --user is
# refused before anything is sent.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
id=$(sw_unique pv)
user="swt$id"
sw_tmpdir out
chmod 755 "$out"
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || sw_fail "cannot create user '$user'"
sw_cleanup_add "userdel '$user' 2>/dev/null"
ns="swt-$id"
sw_ns_add "$ns"

ip netns exec "$ns" "$SW_BIN/synwatch" --once --user "no-such-user-$id" -p 80 127.0.0.1 > /dev/null 2> "$out/err1"
rc=$?
[ $rc -ne 0 ] || sw_fail "an unknown --user was accepted"
grep -q "no such user" "$out/err1" || sw_fail "unknown --user: $(cat "$out/err1")"

ip netns exec "$ns" "$SW_BIN/synwatch" --user "$user" -p 80,81 127.0.0.1 --interval 500ms --timeout 100ms \
	--retries 0 --no-latency > "$out/out.ndjson" 2> "$out/err.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sw_wait_for 5 grep -q "running as '$user' without capabilities" "$out/err.txt" || sw_fail "no switch: $(cat "$out/err.txt")"
uid=$(id -u "$user")
grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" "/proc/$spid/status" ||
	sw_fail "not running as uid $uid: $(grep Uid "/proc/$spid/status")"
grep -Eq '^CapEff:[[:space:]]+0+$' "/proc/$spid/status" || sw_fail "capabilities still held"
grep -Eq '^CapBnd:[[:space:]]+0+$' "/proc/$spid/status" || sw_fail "the bounding set was not emptied"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "/proc/$spid/status" || sw_fail "no_new_privs is not set"
results() { [ "$(grep -c '"type":"result"' "$out/out.ndjson")" -ge 6 ]; }
sw_wait_for 5 results || sw_fail "no results as '$user': $(cat "$out/err.txt")"
kill -TERM $spid
dead() { ! sw_pid_alive "$spid"; }
sw_wait_for 10 dead || sw_fail "synwatch did not exit on SIGTERM"
wait $spid || sw_fail "synwatch exited $? on SIGTERM"

# a Redis socket the user may not reach: one line and an exit at start-up,
# not a warning repeated in a log while nothing is written
sw_tmpdir rdir
redis-server --port 0 --unixsocket "$rdir/r.sock" --unixsocketperm 700 --save '' --appendonly no --dir "$rdir" \
	--daemonize yes --pidfile "$rdir/r.pid" --logfile "$rdir/r.log" || sw_fail "redis-server did not start"
sw_cleanup_add "kill \$(cat '$rdir/r.pid') 2>/dev/null"
sw_wait_for 5 redis-cli -s "$rdir/r.sock" ping > /dev/null 2>&1 || sw_fail "redis-server does not answer"
ip netns exec "$ns" timeout 10 "$SW_BIN/synwatch" --user "$user" -p 80 127.0.0.1 --redis "unix://$rdir/r.sock" \
	> /dev/null 2> "$out/err2"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || sw_fail "a Redis socket '$user' cannot open: exit $rc (124: still running)"
grep -q "error: cannot open the Redis socket '$rdir/r.sock': Permission denied as user '$user'" "$out/err2" ||
	sw_fail "unreachable Redis socket: $(cat "$out/err2")"

# the release build under its seccomp filter, as the unit runs it: every
# thread (sender, capture, store, Redis writer, checker) does its work with
# only the calls the filter allows (the test build's filter also allows the
# sanitizers' calls, so it cannot tell)
rel=$SW_TOP/build/synwatch
[ -x "$rel" ] || sw_fail "no release build at $rel (make programs)"
sw_redis_up "$rdir" --name ok
ip netns exec "$ns" "$rel" --user "$user" --seccomp -p 80,81 127.0.0.1 --interval 500ms --timeout 100ms \
	--retries 0 --redis "unix://$rdir/ok.sock" --output ndjson > "$out/rel.ndjson" 2> "$out/rel.txt" &
rpid=$!
sw_cleanup_add "kill -9 $rpid 2>/dev/null"
rel_results() { [ "$(grep -c '"type":"result"' "$out/rel.ndjson")" -ge 8 ]; }
sw_wait_for 8 rel_results || sw_fail "the release build under seccomp: no results: $(tail -3 "$out/rel.txt")"
sw_pid_alive $rpid || sw_fail "the release build under seccomp died: $(tail -3 "$out/rel.txt")"
in_redis() { [ "$(redis-cli -s "$rdir/ok.sock" --scan --pattern 'synwatch:state:*' | wc -l)" -eq 2 ]; }
sw_wait_for 5 in_redis || sw_fail "the release build under seccomp wrote no states to Redis: $(tail -3 "$out/rel.txt")"
kill -TERM $rpid
sw_wait_for 10 eval '! sw_pid_alive $rpid' || sw_fail "the release build did not exit on SIGTERM"
wait $rpid || sw_fail "the release build under seccomp exited $?: $(tail -3 "$out/rel.txt")"
sw_pass "privs: runs as '$user' with no capabilities and still measures (the release build under --seccomp too); a Redis socket it may not open stops it at start-up"
