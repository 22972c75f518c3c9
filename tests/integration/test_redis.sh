#!/bin/bash
# The Redis store against private redis-servers (unix sockets in a temp dir,
# 127.0.0.1 on free ports inside the fleet's prober namespace):
# - every key of docs/redis.md is written with its documented fields;
# - redis-server SIGKILLed mid-run and restarted from its AOF, then out of
#   memory for a while: every result the NDJSON sink printed is in Redis
#   exactly once, per target in order; one log line per change of the
#   connection, not per attempt;
# - runtime targets added and removed through HSET + PUBLISH apply within a
#   second, their state removed with them;
# - AUTH with a password and with an ACL user; a wrong password: one clear
#   line, synwatch keeps running and buffering, the spill file keeps what
#   was not written and the next start (right password) writes it first;
# - results: all, changes and none per group: every result, the first and
#   the changes, nothing in the stream; the state hash either way;
# - the spill file's limit: results dropped and counted, every event kept
#   and written after the outage; the heartbeat's last problem, shown by
#   synwatch-top;
# - a bad URL exits 2 with one line, without the password;
# - a Sentinel failover between two redis-servers: synwatch follows it.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli redis-sentinel
sw_fleet_test rd out --spec "open=24,closed=8,ports=80,layout=dense" --seed 11
check() { "$SW_PY" "$SW_TOP/tests/integration/redis_check.py" "$@"; }

# a redis-server on a unix socket $out/NAME.sock that synwatch's own user
# may use, with an AOF written before each reply (appendfsync always), so a
# SIGKILL loses nothing acknowledged
start_redis() { # NAME [PING-ARGS [REDIS-SERVER-ARGS...]]
	local n=$1 ping=${2:-}
	shift $(($# < 2 ? $# : 2))
	sw_redis_up "$out" --name "$n" --aof always --ping "$ping" -- --unixsocketperm 777 "$@"
}

awk -F'\t' 'NR > 1 && $3 == "open"' "$out/truth.tsv" | head -n -1 | awk -F'\t' '{ printf "      - \"%s:%s\"\n", $1, $2 }' > "$out/open.yaml"
awk -F'\t' 'NR > 1 && $3 == "closed" { printf "      - \"%s:%s\"\n", $1, $2 }' "$out/truth.tsv" > "$out/closed.yaml"
spare=$(awk -F'\t' 'NR > 1 && $3 == "open" { t = $1 ":" $2 } END { print t }' "$out/truth.tsv")
named=$(awk -F'\t' 'NR > 1 && $3 == "open" { print $1; exit }' "$out/truth.tsv")
n_open=$(wc -l < "$out/open.yaml")
n_closed=$(wc -l < "$out/closed.yaml")
n=$((n_open + n_closed))

# ---- 1. every key and field, with a SIGKILL of redis-server in the middle
start_redis r1
{
	cat <<EOF
location: lab-1
rate: 2000
output: ndjson
redis: unix://$out/r1.sock
redis_prefix: "swt:"
spill: $out/spill1.log
defaults:
  interval: 1s
  timeout: 300ms
  retries: 1
  failures: 2
  labels: { team: net }
groups:
  - name: web
    labels: { criticality: high }
    targets:
      - { host: $named, port: 80, name: "Front door" }
    hosts:
EOF
	cat "$out/open.yaml"
	printf '  - name: closed\n    hosts:\n'
	cat "$out/closed.yaml"
} > "$out/synwatch.yaml"
ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/synwatch.yaml" --seccomp > "$out/out1.ndjson" 2> "$out/err1.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
R1() { redis-cli -s "$out/r1.sock" "$@"; }
P=swt:
sw_wait_for 5 sh -c "[ \"\$(redis-cli -s '$out/r1.sock' zcard ${P}idx:lab-1:up)\" -eq $n_open ]" ||
	sw_fail "not every open endpoint is in idx:lab-1:up: $(R1 zcard ${P}idx:lab-1:up) of $n_open; $(tail -3 "$out/err1.txt")"
sw_wait_for 5 sh -c "[ \"\$(redis-cli -s '$out/r1.sock' zcard ${P}idx:lab-1:down)\" -eq $n_closed ]" ||
	sw_fail "not every closed endpoint is in idx:lab-1:down"
prober=$(R1 zrange ${P}probers 0 -1)
[ "$prober" = "lab-1/$(hostname)" ] || sw_fail "probers holds '$prober', want lab-1/$(hostname)"
[ "$(R1 get ${P}schema)" = 1 ] || sw_fail "schema is '$(R1 get ${P}schema)'"
[ "$(R1 zcard ${P}idx:lab-1:all)" -eq $n ] || sw_fail "idx:lab-1:all has $(R1 zcard ${P}idx:lab-1:all) of $n"
[ "$(R1 zcard ${P}idx:lab-1:unknown)" -eq 0 ] || sw_fail "targets left in idx:lab-1:unknown"
R1 get "${P}seq:$prober" | grep -Eq '^[0-9]{16,}$' || sw_fail "no seq:$prober"
check fields "$out/r1.sock" stream ${P}results target ip port state rtt_us ts attempt ttl group labels location prober ||
	sw_fail "results fields"
check fields "$out/r1.sock" stream ${P}events id kind ts target ip port group labels from to reason since rtt_us \
	location prober || sw_fail "events fields"
check fields "$out/r1.sock" hash "${P}state:lab-1:$named:80" state since reason last_result last_rtt_us last_ts \
	name group labels prober || sw_fail "state fields"
[ "$(R1 hget "${P}state:lab-1:$named:80" name)" = "Front door" ] || sw_fail "the state hash lacks the target's name"
R1 hget "${P}state:lab-1:$named:80" labels | grep -q '"criticality":"high","team":"net"' || sw_fail "labels"
check fields "$out/r1.sock" hash "${P}prober:$prober" location host version started heartbeat targets rate \
	sent_per_s replies_per_s pcap_drops backlog spilled spill_bytes spill_max dropped overloaded demand_pps \
	isolated state_counts metrics_per_target ||
	sw_fail "prober fields"
ttl=$(R1 pttl "${P}prober:$prober")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 5000 ] || sw_fail "the prober hash expires in $ttl ms, want (0, 5000]"
R1 hget "${P}prober:$prober" state_counts | grep -q "\"up\":$n_open" || sw_fail "state_counts"
sw_info "every key written; killing redis-server"

before=$(R1 xlen ${P}results)
sw_redis_kill "$out" r1
sleep 2
sw_pid_alive $spid || sw_fail "synwatch died with redis-server"
start_redis r1
sw_wait_for 10 sh -c "[ \"\$(redis-cli -s '$out/r1.sock' xlen ${P}results)\" -gt $((before + 2 * n)) ]" ||
	sw_fail "no writing after the restart: $(tail -3 "$out/err1.txt")"
[ "$(grep -c 'redis: lost connection' "$out/err1.txt")" -eq 1 ] ||
	sw_fail "want one 'lost connection' line: $(grep redis: "$out/err1.txt")"
[ "$(grep -c 'redis: cannot connect' "$out/err1.txt")" -le 1 ] ||
	sw_fail "a line per attempt: $(grep redis: "$out/err1.txt")"
[ "$(grep -c 'redis: connected to' "$out/err1.txt")" -eq 2 ] || sw_fail "reconnect not logged once"
# out of memory: refused batches wait (the one queued behind is discarded), then go in order
R1 config set maxmemory 1 > /dev/null
sw_wait_for 5 grep -q "redis: unix://$out/r1.sock refuses writes: OOM" "$out/err1.txt" ||
	sw_fail "no line for OOM: $(tail -3 "$out/err1.txt")"
sleep 1
R1 config set maxmemory 0 > /dev/null
sw_wait_for 7 grep -q "redis: unix://$out/r1.sock accepts writes again" "$out/err1.txt" ||
	sw_fail "writing did not resume after OOM: $(tail -3 "$out/err1.txt")"
[ "$(grep -c 'refuses writes' "$out/err1.txt")" -eq 1 ] || sw_fail "a line per refused batch"
# the heartbeat tells what went wrong last, for synwatch-top
sw_wait_for 3 sh -c "redis-cli -s '$out/r1.sock' hget '${P}prober:$prober' problem | grep -q '^warning: redis: .* refuses writes: OOM'" ||
	sw_fail "the heartbeat's problem is '$(R1 hget "${P}prober:$prober" problem)'"
problem_at=$(R1 hget "${P}prober:$prober" problem_at)
[ $(($(sw_now_ms) - problem_at)) -lt 15000 ] || sw_fail "problem_at $problem_at is not recent"
"$SW_BIN/synwatch-top" --once --width 250 --redis "unix://$out/r1.sock" --prefix "$P" > "$out/top1.txt" 2>&1 ||
	sw_fail "synwatch-top --once failed: $(cat "$out/top1.txt")"
grep -q "ago: warning: redis: .* refuses writes: OOM" "$out/top1.txt" ||
	sw_fail "synwatch-top does not show the prober's problem: $(grep -A3 PROBER "$out/top1.txt")"

# ---- 2. runtime targets: added and removed within a second
sw_info "runtime targets"
t0=$(sw_now_ms)
R1 hset ${P}runtime:targets "$spare" '{"group":"web","name":"Added","labels":{"team":"shop"},"interval":"2s"}' > /dev/null
R1 publish ${P}runtime changed > /dev/null
sw_wait_for 1 grep -q "runtime targets applied: $((n + 1)) targets, 1 added, 0 removed" "$out/err1.txt" ||
	sw_fail "runtime target not applied within 1 s: $(tail -3 "$out/err1.txt")"
sw_info "applied after $(($(sw_now_ms) - t0)) ms"
sw_wait_for 3 grep -q "\"ip\":\"${spare%:*}\",\"port\":${spare#*:}," "$out/out1.ndjson" ||
	sw_fail "no result for the added target $spare"
sw_wait_for 2 sh -c "[ \"\$(redis-cli -s '$out/r1.sock' hget '${P}state:lab-1:$spare' name)\" = Added ]" ||
	sw_fail "no state hash for the added target"
R1 hget "${P}state:lab-1:$spare" labels | grep -q '"team":"shop"' || sw_fail "runtime labels not merged"
t0=$(sw_now_ms)
R1 hdel ${P}runtime:targets "$spare" > /dev/null
R1 publish ${P}runtime changed > /dev/null
sw_wait_for 1 grep -q "runtime targets applied: $n targets, 0 added, 1 removed" "$out/err1.txt" ||
	sw_fail "runtime target not removed within 1 s: $(tail -3 "$out/err1.txt")"
sw_info "removed after $(($(sw_now_ms) - t0)) ms"
sleep 1.5
seen=$(grep -c "\"ip\":\"${spare%:*}\",\"port\":${spare#*:}," "$out/out1.ndjson")
sleep 2
[ "$(grep -c "\"ip\":\"${spare%:*}\",\"port\":${spare#*:}," "$out/out1.ndjson")" -eq "$seen" ] ||
	sw_fail "the removed target is still probed"
[ "$(R1 exists "${P}state:lab-1:$spare")" -eq 0 ] || sw_fail "the removed target's state hash stayed"
[ -z "$(R1 zscore ${P}idx:lab-1:all "$spare")" ] || sw_fail "the removed target stayed in idx:lab-1:all"

kill -TERM $spid
wait $spid
rc=$?
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc on SIGTERM: $(tail -3 "$out/err1.txt")"
check compare "$out/out1.ndjson" "$out/r1.sock" $P || sw_fail "results differ between stdout and redis"
# the handshake histograms: through the same backlog, so also exactly once
# across the restart of redis-server and the refused (OOM) batches above
check histo "$out/out1.ndjson" "$out/r1.sock" $P lab-1 || sw_fail "the histograms differ from the printed answers"
R1 --scan --pattern "${P}lat:lab-1:*" | grep -q . || sw_fail "no latency history written at the stop"
R1 zrange "${P}lat:lab-1:$named:80" 0 -1 | grep -Eq '^v1 t=[0-9]+ n=[0-9]+ ' || sw_fail "latency record format"
# (the file goes; as a user that may not remove it from this directory, it
# stays as a header alone: the summary line counts what is in it)
grep -q 'redis: [0-9]* records written (.*), 0 left in the spill file, 0 lost' "$out/err1.txt" ||
	sw_fail "records left in the spill file with redis up: $(grep 'records written' "$out/err1.txt")"

# ---- 3. AUTH: a wrong password buffers, the right one (or an ACL user) writes
sw_info "auth"
start_redis r2 "-a pw --no-auth-warning" --requirepass pw --user alice on '>alicepw' '~*' '&*' '+@all'
R2() { redis-cli -s "$out/r2.sock" -a pw --no-auth-warning "$@"; }
targets=$(awk -F'\t' 'NR > 1 && NR < 8 { printf "%s:%s ", $1, $2 }' "$out/truth.tsv")
# shellcheck disable=SC2086
ip netns exec "$pns" "$SW_BIN/synwatch" --interval 1s --timeout 300ms --location lab-2 $targets \
	--redis "unix://$out/r2.sock?password=wrong" --spill "$out/spill2.log" --output ndjson \
	> "$out/out2.ndjson" 2> "$out/err2.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sw_wait_for 3 grep -q "redis: cannot connect to unix://$out/r2.sock?password=\*\*\*: .*WRONGPASS" "$out/err2.txt" ||
	sw_fail "no clear line for a wrong password: $(cat "$out/err2.txt")"
sleep 2.5
sw_pid_alive $spid || sw_fail "synwatch died on a wrong password"
[ "$(grep -c 'redis:' "$out/err2.txt")" -eq 1 ] || sw_fail "more than one line: $(grep redis: "$out/err2.txt")"
grep -q "password=wrong" "$out/err2.txt" && sw_fail "the password was logged"
# after 5 s away: how much waits, and where
sw_wait_for 6 grep -Eq "redis: unix://$out/r2.sock\?password=\*\*\* away for [5-9]s: [0-9]+ results waiting, [0-9]+ of them in '$out/spill2.log' \([0-9.]+ MB\)$" "$out/err2.txt" ||
	sw_fail "no backlog line after 5 s away: $(grep redis: "$out/err2.txt")"
# the exit summary's count of WHAT ("left in the spill file"), from FILE
summary_count() { # FILE WHAT
	sed -n "s/^synwatch: redis: [0-9]* records written .* \\([0-9][0-9]*\\) $2.*/\\1/p" "$1"
}
kill -TERM $spid
wait $spid
left=$(summary_count "$out/err2.txt" "left in the spill file")
[ -n "$left" ] && [ "$left" -gt 0 ] || sw_fail "nothing left in the spill file: $(tail -2 "$out/err2.txt")"
[ -s "$out/spill2.log" ] || sw_fail "no spill file"
results2=$(grep -c '"type":"result"' "$out/out2.ndjson")
# the right password: the spill file goes out first, then this run's results
# shellcheck disable=SC2086
ip netns exec "$pns" "$SW_BIN/synwatch" --once --timeout 300ms --location lab-2 $targets \
	--redis "unix://$out/r2.sock?password=pw" --spill "$out/spill2.log" > /dev/null 2> "$out/err3.txt" ||
	sw_fail "synwatch --once failed: $(cat "$out/err3.txt")"
grep -q "records a previous run left in '$out/spill2.log' go out first" "$out/err3.txt" || sw_fail "no replay"
grep -q 'redis: [0-9]* records written (.*), 0 left in the spill file, 0 lost' "$out/err3.txt" ||
	sw_fail "the spill file was not emptied: $(grep 'records written' "$out/err3.txt")"
[ "$(R2 xlen synwatch:results)" -eq $((results2 + 6)) ] ||
	sw_fail "redis has $(R2 xlen synwatch:results) results, want $results2 buffered + 6"
# an ACL user
# shellcheck disable=SC2086
ip netns exec "$pns" "$SW_BIN/synwatch" --once --timeout 300ms --location lab-2 $targets \
	--redis "unix://$out/r2.sock?user=alice&password=alicepw" --spill "$out/spill2.log" > /dev/null 2> "$out/err4.txt" ||
	sw_fail "synwatch --once as alice failed: $(cat "$out/err4.txt")"
[ "$(R2 xlen synwatch:results)" -eq $((results2 + 12)) ] || sw_fail "the ACL user's results are missing"

# ---- 3b. the spill file's limit: results dropped and counted, events kept
sw_info "spill limit"
{
	printf 'location: lab-4\nrate: 20000\noutput: ndjson\nspill_max: 1M\nbacklog_memory: 1M\n'
	printf 'redis: "unix://%s/r2.sock?password=wrong"\nspill: %s/spill4.log\n' "$out" "$out"
	printf 'defaults:\n  interval: 20ms\n  timeout: 8ms\n  retries: 0\n  failures: 1\ngroups:\n  - name: all\n    hosts:\n'
	cat "$out/open.yaml" "$out/closed.yaml"
} > "$out/limit.yaml"
ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/limit.yaml" > "$out/out8.ndjson" 2> "$out/err8.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sw_wait_for 20 grep -q "the spill file '$out/spill4.log' is at its limit (spill_max, 1048576 bytes)" "$out/err8.txt" ||
	sw_fail "no line at the spill limit: $(tail -3 "$out/err8.txt"); $(ls -l "$out/spill4.log")"
sw_wait_for 7 grep -Eq "away for [0-9]+s: .*; [0-9]+ results dropped at the spill limit" "$out/err8.txt" ||
	sw_fail "the away line does not count the dropped results: $(grep away "$out/err8.txt" | tail -1)"
kill -TERM $spid
wait $spid
dropped=$(summary_count "$out/err8.txt" "dropped at the spill limit")
[ "${dropped:-0}" -gt 0 ] || sw_fail "no results dropped: $(tail -2 "$out/err8.txt")"
# the file: its limit, plus what memory held at the stop (1M) and events
size=$(stat -c %s "$out/spill4.log")
[ "$size" -le $((2 * 1048576 + 65536)) ] || sw_fail "the spill file is $size bytes with spill_max 1M"
events8=$(grep -c '"type":"event"' "$out/out8.ndjson")
results8=$(grep -c '"type":"result"' "$out/out8.ndjson")
[ "$events8" -ge $n ] || sw_fail "only $events8 events printed"
# the right password: every event goes in, and the results kept
before=$(R2 xlen synwatch:results)
ev_before=$(R2 xlen synwatch:events)
# shellcheck disable=SC2086
ip netns exec "$pns" "$SW_BIN/synwatch" --once --timeout 300ms --location lab-4 $targets \
	--redis "unix://$out/r2.sock?password=pw" --spill "$out/spill4.log" > /dev/null 2> "$out/err9.txt" ||
	sw_fail "the replay run failed: $(tail -3 "$out/err9.txt")"
grep -q 'redis: [0-9]* records written (.*), 0 left in the spill file, 0 lost, 0 dropped' "$out/err9.txt" ||
	sw_fail "the spill file was not emptied: $(grep 'records written' "$out/err9.txt")"
[ "$(($(R2 xlen synwatch:events) - ev_before))" -eq "$events8" ] ||
	sw_fail "redis has $(($(R2 xlen synwatch:events) - ev_before)) of the run's events, it printed $events8"
# dropped counts the latency minutes left out at the stop too (one per target at most)
kept=$(($(R2 xlen synwatch:results) - before - 6))
[ $((kept + dropped)) -ge "$results8" ] && [ $((kept + dropped)) -le $((results8 + n)) ] ||
	sw_fail "redis has $kept of the run's $results8 results, with $dropped dropped"
sw_info "spill limit: $results8 results, $dropped dropped, $events8 events kept, file $size bytes"

# ---- 3c. results: all, changes, none per group
sw_info "results retention"
o3=$(awk -F'\t' 'NR > 1 && $3 == "open"' "$out/truth.tsv" | head -3 | awk -F'\t' '{ printf "\"%s:%s\", ", $1, $2 }')
o6=$(awk -F'\t' 'NR > 1 && $3 == "open"' "$out/truth.tsv" | sed -n 4,6p | awk -F'\t' '{ printf "\"%s:%s\", ", $1, $2 }')
c2=$(awk -F'\t' 'NR > 1 && $3 == "closed"' "$out/truth.tsv" | head -2 | awk -F'\t' '{ printf "\"%s:%s\", ", $1, $2 }')
q2=$(awk -F'\t' 'NR > 1 && $3 == "closed"' "$out/truth.tsv" | sed -n 3,4p | awk -F'\t' '{ printf "\"%s:%s\", ", $1, $2 }')
cat > "$out/retention.yaml" <<EOF
location: lab-5
output: ndjson
redis: "unix://$out/r2.sock?password=pw"
redis_prefix: "ret:"
spill: $out/spill5.log
defaults: { interval: 200ms, timeout: 100ms, retries: 0 }
groups:
  - { name: every, hosts: [${o3%, }] }
  - { name: moves, results: changes, hosts: [${o6%, }, ${c2%, }] }
  - { name: quiet, results: none, hosts: [${q2%, }] }
EOF
ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/retention.yaml" > "$out/out10.ndjson" 2> "$out/err10.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sleep 3
kill -TERM $spid
wait $spid || sw_fail "synwatch (results retention) exited $?: $(tail -3 "$out/err10.txt")"
# per target and group: the results printed, and the entries in Redis
"$SW_PY" - "$out/out10.ndjson" <<'PY' > "$out/printed.tsv" || sw_fail "reading the NDJSON"
import json, sys, collections
n = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "result":
        n[(r["group"], "%s:%s" % (r["ip"], r["port"]))] += 1
for (g, t), c in sorted(n.items()):
    print(g, t, c, sep="\t")
PY
R2 --raw XRANGE ret:results - + | awk 'p == "target" { t = $0 } p == "group" { print $0 "\t" t } { p = $0 }' |
	sort | uniq -c | awk '{ print $2 "\t" $3 "\t" $1 }' > "$out/stream.tsv"
while IFS=$'\t' read -r g t c; do
	s=$(awk -F'\t' -v g="$g" -v t="$t" '$1 == g && $2 == t { print $3 }' "$out/stream.tsv")
	case $g in
	every) want=$c ;;
	moves) want=1 ;; # their answer never changes: the first of the run alone
	quiet) want= ;;
	esac
	[ "$s" = "$want" ] || sw_fail "results of $t in group $g: $c printed, ${s:-none} in the stream, want ${want:-none}"
	[ "$c" -ge 5 ] || sw_fail "only $c results of $t in 3 s at 200 ms"
	last=$(R2 HGET "ret:state:lab-5:$t" last_ts)
	[ -n "$last" ] || sw_fail "no state hash for $t of group $g"
done < "$out/printed.tsv"
[ "$(grep -c . "$out/printed.tsv")" -eq 10 ] || sw_fail "want 10 (group, target) pairs: $(cat "$out/printed.tsv")"
sw_info "results retention: $(R2 XLEN ret:results) entries for $(awk '{ s += $3 } END { print s }' "$out/printed.tsv") results"

# ---- 4. a bad URL: exit 2, one line, no password
"$SW_BIN/synwatch" --once --redis 'redis://alice:hunter2@127.0.0.1:99999' 127.0.0.1:9 > /dev/null 2> "$out/err5.txt"
rc=$?
[ $rc -eq 2 ] || sw_fail "a bad URL exited $rc, want 2"
[ "$(wc -l < "$out/err5.txt")" -eq 1 ] || sw_fail "want one line: $(cat "$out/err5.txt")"
grep -q "99999" "$out/err5.txt" && ! grep -q hunter2 "$out/err5.txt" || sw_fail "bad message: $(cat "$out/err5.txt")"
printf 'redis: "http://127.0.0.1"\ngroups:\n  - name: g\n    hosts: ["127.0.0.1:9"]\n' > "$out/bad.yaml"
"$SW_BIN/synwatch" -c "$out/bad.yaml" > /dev/null 2> "$out/err6.txt"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$out/err6.txt")" -eq 1 ] && grep -q "$out/bad.yaml: redis 'http://127.0.0.1'" "$out/err6.txt" ||
	sw_fail "bad URL in the config: exit $rc, $(cat "$out/err6.txt")"

# ---- 5. Sentinel: the master dies, the replica takes over, synwatch follows
sw_info "sentinel failover"
# pd: a sentinel that is not there, asked first
read -r p1 p2 ps pd < <(ip netns exec "$pns" "$SW_PY" -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
sw_redis_up "$out" --name m1 --netns "$pns" --tcp "$p1"
sw_redis_up "$out" --name m2 --netns "$pns" --tcp "$p2" -- --replicaof 127.0.0.1 "$p1"
cat > "$out/sentinel.conf" <<EOF
port $ps
bind 127.0.0.1
dir $out
logfile $out/sentinel.log
sentinel monitor mymaster 127.0.0.1 $p1 1
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
EOF
ip netns exec "$pns" redis-sentinel "$out/sentinel.conf" &
sw_cleanup_add "kill -9 $! 2>/dev/null"
RP() { ip netns exec "$pns" redis-cli -p "$1" "${@:2}"; }
sw_wait_for 10 sh -c "ip netns exec '$pns' redis-cli -p $p2 info replication | grep -q 'master_link_status:up'" ||
	sw_fail "the replica did not sync"
sw_wait_for 10 sh -c "ip netns exec '$pns' redis-cli -p $ps sentinel replicas mymaster 2>/dev/null | grep -q $p2" ||
	sw_fail "the sentinel does not know the replica: $(tail -3 "$out/sentinel.log")"
# shellcheck disable=SC2086
ip netns exec "$pns" "$SW_BIN/synwatch" --interval 1s --timeout 300ms --location lab-3 $targets \
	--redis "redis-sentinel://127.0.0.1:$pd,127.0.0.1:$ps/mymaster" \
	--spill "$out/spill3.log" > /dev/null 2> "$out/err7.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
sw_wait_for 5 sh -c "[ \"\$(ip netns exec '$pns' redis-cli -p $p1 xlen synwatch:results)\" -gt 6 ]" ||
	sw_fail "nothing written through the sentinel: $(tail -3 "$out/err7.txt")"
grep -q "redis: connected to .* (master at 127.0.0.1:$p1)" "$out/err7.txt" || sw_fail "$(cat "$out/err7.txt")"
sw_redis_kill "$out" m1
sw_wait_for 20 grep -q "redis: connected to .* (master at 127.0.0.1:$p2)" "$out/err7.txt" ||
	sw_fail "did not follow the failover: $(grep redis: "$out/err7.txt"); $(tail -3 "$out/sentinel.log")"
n2=$(RP "$p2" xlen synwatch:results)
sw_wait_for 5 sh -c "[ \"\$(ip netns exec '$pns' redis-cli -p $p2 xlen synwatch:results)\" -gt $((n2 + 6)) ]" ||
	sw_fail "no writing to the new master"
kill -TERM $spid
wait $spid || sw_fail "synwatch exited $? after the failover"
sw_pass "redis: keys and fields, restart exactly once, runtime targets, auth, bad URL, sentinel failover"
