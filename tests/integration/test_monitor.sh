#!/bin/bash
# Continuous monitoring against a namespace fleet, with a config file:
# a port that stops listening and an address that starts dropping go down
# within interval x failures + timeout and come back up; all watched ports
# of a host down make one host_down; SIGHUP applies a changed file (and a
# broken one is rejected); cutting the prober's own link gives one
# prober_isolated and no down storm; SIGTERM exits 0 with every result out.
# No canaries: in the file: the fleet's gateway becomes one, checked by ping.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_fleet_test mo out --spec "open=60,closed=20,ports=80+443,layout=dense" --seed 5

# watch every open endpoint; pick a host with both ports open, and another open endpoint
read -r host_a single < <("$SW_PY" - "$out/truth.tsv" <<'PY'
import collections, sys
opened = collections.defaultdict(set)
for line in open(sys.argv[1]):
    f = line.split("\t")
    if f[0] != "ip" and f[2] == "open":
        opened[f[0]].add(int(f[1]))
both = [ip for ip, ports in sorted(opened.items()) if ports == {80, 443}]
single = [f"{ip}:{p}" for ip, ports in sorted(opened.items()) for p in ports if ip != both[0]]
print(both[0], single[0])
PY
)
[ -n "$host_a" ] && [ -n "$single" ] || sw_fail "the fleet has no host with both ports open"
awk -F'\t' 'NR > 1 && $3 == "open" { printf "      - \"%s:%s\"\n", $1, $2 }' "$out/truth.tsv" > "$out/hosts.yaml"
write_config() { # EXTRA-GROUP-YAML
	{
		cat <<EOF
location: lab-1
rate: 2000
output: ndjson
defaults:
  interval: 1s
  timeout: 300ms
  retries: 1
  failures: 2
  successes: 1
  labels: { team: net }
groups:
  - name: web
    labels: { criticality: high }
    hosts:
EOF
		cat "$out/hosts.yaml"
		printf '%s' "${1:-}"
	} > "$out/synwatch.yaml.new"
	mv "$out/synwatch.yaml.new" "$out/synwatch.yaml"
}
write_config
ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/synwatch.yaml" --no-latency --seccomp \
	> "$out/out.ndjson" 2> "$out/err.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"

events() { # prints matching events as "kind ip port to reason host_event" lines
	"$SW_PY" - "$out/out.ndjson" "$@" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue  # a line being written
    if o.get("type") != "event":
        continue
    print(o["kind"], o.get("ip", "-"), o.get("port", "-"), o.get("to", "-"), o.get("reason", "-"),
          o.get("host_event", "-"), o.get("ts"))
PY
}
count_events() { events | grep -c -- "$1"; }
has_event() { [ "$(events | grep -c -- "$1")" -ge "${2:-1}" ]; }

n_open=$(wc -l < "$out/hosts.yaml")
# least privilege once running: no capability, no way back, the seccomp filter on
sw_wait_for 5 grep -q "without capabilities" "$out/err.txt" || sw_fail "privileges not dropped: $(cat "$out/err.txt")"
grep -Eq '^CapEff:[[:space:]]+0+$' "/proc/$spid/status" || sw_fail "capabilities still held: $(grep Cap "/proc/$spid/status")"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "/proc/$spid/status" || sw_fail "no_new_privs is not set"
grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$spid/status" || sw_fail "no seccomp filter"

sw_wait_for 10 has_event "state .* up open" "$n_open" || sw_fail "not every watched endpoint came up: $(events | head)"
sw_info "$n_open endpoints up"

# the gateway the targets are routed through is the canary, pinged like a target
sw_wait_for 3 grep -q "canaries: gateway 198.19.255.2 (ping)" "$out/err.txt" ||
	sw_fail "no gateway canary: $(grep -i canar "$out/err.txt")"
canary_results() {
	"$SW_PY" - "$out/out.ndjson" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("type") == "result" and o.get("ip") == "198.19.255.2" and o.get("port") == 0 and o.get("group") == "canary":
        n += 1
print(n)
PY
}
has_canary_results() { [ "$(canary_results)" -ge 2 ]; }
sw_wait_for 5 has_canary_results || sw_fail "no results for the canary 198.19.255.2 port 0: $(grep -m3 198.19.255.2 "$out/out.ndjson")"

# one port stops listening: down (refused) within interval x failures + timeout x attempts (+1 s slack)
t0=$(sw_now_ms)
sw_fleet set --name "$name" "$single" closed || sw_fail "fleet set"
sw_wait_for 6 has_event "state ${single%:*} ${single#*:} down refused" || sw_fail "$single did not go down"
dt=$(($(sw_now_ms) - t0))
[ $dt -le 3600 ] || sw_fail "$single went down after $dt ms, want <= 3600 (1s x 2 + 0.3s x 2 + 1s)"
sw_info "$single down after $dt ms"

# both watched ports of host_a: one refused, one dropped -> one host_down
sw_fleet set --name "$name" "$host_a:80" closed || sw_fail "fleet set"
sw_fleet set --name "$name" "$host_a:443" filtered || sw_fail "fleet set"
sw_wait_for 8 has_event "host_down $host_a" || sw_fail "no host_down for $host_a: $(events | grep "$host_a")"
sw_wait_for 4 has_event "state $host_a 443 down timeout" || sw_fail "$host_a:443 not down by timeout"
[ "$(count_events "host_down $host_a")" -eq 1 ] || sw_fail "more than one host_down for $host_a"
hid=$(events | awk -v h="$host_a" '$1 == "host_down" && $2 == h { print $6; exit }')
events | awk -v h="$host_a" '$1 == "state" && $2 == h && $4 == "down"' | tail -1 | grep -q -- "$hid" ||
	sw_fail "the port event that took $host_a down does not carry the host event id"

# everything back: up again, host_up
sw_fleet set --name "$name" "$single" open || sw_fail "fleet set"
sw_fleet set --name "$name" "$host_a:80" open || sw_fail "fleet set"
sw_fleet set --name "$name" "$host_a:443" open || sw_fail "fleet set"
sw_wait_for 5 has_event "host_up $host_a" || sw_fail "no host_up for $host_a"
sw_wait_for 5 has_event "state ${single%:*} ${single#*:} up open" 2 || sw_fail "$single did not come back up"

# SIGHUP with a broken file: rejected, still running
echo "groups: [ {name: x" > "$out/synwatch.yaml"
kill -HUP $spid
sw_wait_for 3 grep -q "reload rejected" "$out/err.txt" || sw_fail "a broken file was not rejected: $(cat "$out/err.txt")"
sw_pid_alive $spid || sw_fail "synwatch died on a broken reload"
# SIGHUP with a new group: a closed endpoint starts, and goes down
closed=$(awk -F'\t' 'NR > 1 && $3 == "closed" { print $1 ":" $2; exit }' "$out/truth.tsv")
write_config "  - name: added
    hosts: [\"$closed\"]
"
kill -HUP $spid
# (+1: the gateway canary stays through the reload)
sw_wait_for 3 grep -q "reloaded '$out/synwatch.yaml': $((n_open + 2)) targets, 1 added, 0 removed" "$out/err.txt" ||
	sw_fail "reload not applied: $(tail -3 "$out/err.txt")"
sw_wait_for 5 has_event "state ${closed%:*} ${closed#*:} down refused" || { cat "$out/err.txt" >&2; sw_fail "the added target was not probed"; }
grep -q "take.* a restart" "$out/err.txt" && sw_fail "a reload of groups alone warned: $(grep restart "$out/err.txt")"
# a top-level setting changed in the file: reloaded groups, and one line saying it takes a restart
sed -i 's/^rate: 2000$/rate: 3000/' "$out/synwatch.yaml"
kill -HUP $spid
sw_wait_for 3 grep -q "reload: rate changed in '$out/synwatch.yaml' and takes a restart; the groups are reloaded" \
	"$out/err.txt" || sw_fail "no word that rate takes a restart: $(tail -3 "$out/err.txt")"
downs_before=$(count_events "state .* down")

# the prober's own link goes: one prober_isolated, no down storm
ip -n "$pns" link set "swf${name}p" down
sw_wait_for 6 has_event "prober_isolated" || sw_fail "no prober_isolated event"
sleep 3
[ "$(count_events "state .* down")" -eq "$downs_before" ] ||
	sw_fail "targets went down while the prober was isolated: $(events | tail -5)"
ip -n "$pns" link set "swf${name}p" up
ip -n "$pns" route replace 198.18.0.0/15 via 198.19.255.2 2>/dev/null
sw_wait_for 8 has_event "prober_ok" || sw_fail "no prober_ok after the link came back: $(tail -3 "$out/err.txt")"
sleep 2
ups=$(count_events "state .* up")
# n_open at the start, 3 back after the outages above, 1 for the gateway canary
[ "$ups" -le $((n_open + 4)) ] || sw_fail "an up storm after the link came back ($ups up events)"

# SIGTERM: exits 0, every result written (the last line is whole JSON)
kill -TERM $spid
dead() { ! sw_pid_alive "$spid"; }
sw_wait_for 10 dead || { kill -9 $spid; sw_fail "synwatch did not exit within 10 s of SIGTERM"; }
wait $spid
rc=$?
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc on SIGTERM: $(tail -3 "$out/err.txt")"
tail -1 "$out/out.ndjson" | "$SW_PY" -c 'import json,sys; json.loads(sys.stdin.read())' ||
	sw_fail "the output ends with a partial line"
results=$(grep -c '"type":"result"' "$out/out.ndjson")
sw_pass "monitor: $n_open endpoints, down/up, host_down/host_up, reload, isolation; $results results"
