#!/bin/bash
# synwatch-ctl against a private redis-server holding state written as
# docs/redis.md lays it out: add/remove of runtime targets (the hash and the
# message on P runtime, seen by a subscriber), show (state, recent results,
# latency per minute decoded), list by state and location, silences,
# probers, --json, and the exit codes: 2 for bad usage, 1 for an
# unreachable Redis, a foreign schema or something that is not there, each
# with one line on stderr. No root needed.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_cmd redis-server redis-cli "$SW_PY"
CTL=$SW_BIN/synwatch-ctl
[ -x "$CTL" ] || sw_fail "no synwatch-ctl in '$SW_BIN'"

sw_tmpdir dir
sw_redis_up "$dir"
URL=unix://$dir/r.sock
R() { redis-cli -s "$dir/r.sock" "$@" > /dev/null || sw_fail "redis-cli $*"; }
ctl() { "$CTL" --redis "$URL" "$@"; }
json() { "$SW_PY" -c "import json, sys; d = json.load(sys.stdin); $1"; }

# ---- the fleet as two probers wrote it ----
now=$(date +%s)
ns=$((now * 1000000000))
R SET synwatch:schema 1
R ZADD synwatch:probers $((now * 1000)) fra1/probe-1 $((now * 1000 - 2000)) ams1/probe-a $(((now - 600) * 1000)) fra1/probe-old
R HSET synwatch:prober:fra1/probe-1 location fra1 host probe-1 version 1 started $((now - 100)) heartbeat $((now * 1000)) \
	targets 3 rate 10000 sent_per_s 120 replies_per_s 118 pcap_drops 0 backlog 0 spilled 0 overloaded 0 demand_pps 90 \
	isolated 0 state_counts '{"up":2,"down":1}'
R HSET synwatch:prober:ams1/probe-a location ams1 host probe-a version 1 started $((now - 100)) heartbeat $((now * 1000 - 2000)) \
	targets 3 rate 5000 sent_per_s 60 replies_per_s 1 pcap_drops 0 backlog 1234 spilled 0 overloaded 1 demand_pps 6000 \
	isolated 1 state_counts '{"up":3}'
state() { # LOC TARGET STATE SINCE-AGO-S NAME GROUP LABELS
	R HSET "synwatch:state:$1:$2" state "$3" since $(((now - $4) * 1000000000)) reason open last_result open \
		last_rtt_us 412.337 last_ts "$ns" name "$5" group "$6" labels "$7" prober "$1/probe"
	R ZADD "synwatch:idx:$1:$3" $((now - $4)) "$2"
	R ZADD "synwatch:idx:$1:all" $((now - 86400)) "$2"
}
state fra1 198.18.0.7:443 up 3000 "Checkout - 443" web '{"team":"shop","criticality":"high"}'
state fra1 198.18.1.9:5432 down 300 "Production DB" db '{"team":"dba"}'
state fra1 198.18.0.8:80 up 60 "Shop - 80" web '{"team":"shop"}'
state ams1 198.18.0.7:443 up 4000 "Checkout - 443" web '{"team":"shop","criticality":"high"}'
state ams1 198.18.1.9:5432 up 100 "Production DB" db '{"team":"dba"}'
m=$(((now / 60 - 2) * 60))
# docs/latency.md text: 412 us is bucket 89, 530 us bucket 96
R ZADD synwatch:lat:fra1:198.18.0.7:443 $m "v1 t=$m n=1 l=0 min=412000 max=412000 sum=412000 b=89" \
	$((m + 60)) "v1 t=$((m + 60)) n=2 l=1 min=412000 max=530000 sum=942000 b=89,96" \
	$((m - 7200)) "v1 t=$((m - 7200)) n=1 l=0 min=412000 max=412000 sum=412000 b=89"
for i in 1 2 3; do
	R XADD synwatch:results '*' target 198.18.0.7:443 ip 198.18.0.7 port 443 state open rtt_us 41$i.337 ts $((ns + i)) \
		attempt 0 ttl 63 location fra1 prober fra1/probe-1
	R XADD synwatch:results '*' target 198.18.1.9:5432 ip 198.18.1.9 port 5432 state unreachable rtt_us "" ts $((ns + i)) \
		attempt 1 ttl "" icmp_type 3 icmp_code 13 icmp_from 198.18.255.1 location fra1 prober fra1/probe-1
done

# ---- show ----
TZ=UTC ctl show 198.18.0.7:443 > "$dir/show.txt" 2> "$dir/show.err" || sw_fail "show: $(cat "$dir/show.err")"
head -1 "$dir/show.txt" | grep -q '^198.18.0.7:443  Checkout - 443$' || sw_fail "show: first line: $(head -1 "$dir/show.txt")"
grep -q '^group web  labels team=shop criticality=high$' "$dir/show.txt" || sw_fail "show: labels"
grep -Eq '^fra1 +up +[0-9-]+ [0-9:]+ +50m0[0-2]s +open +open +0\.412 ms +fra1/probe$' "$dir/show.txt" ||
	sw_fail "show: the fra1 state row: $(grep '^fra1' "$dir/show.txt")"
grep -Eq '^ams1 +up +.* 1h06m ' "$dir/show.txt" || sw_fail "show: the ams1 state row"
[ "$(grep -Ec '^[0-9-]+ [0-9:]+ +fra1 +open +0\.41[123] ms +63 +0 +-$' "$dir/show.txt")" -eq 3 ] ||
	sw_fail "show: three recent results: $(sed -n '/recent/,/latency/p' "$dir/show.txt")"
grep -q '^latency per minute from fra1$' "$dir/show.txt" || sw_fail "show: no latency table"
grep -Eq '^[0-9-]+ [0-9:]+ +1 +0\.0% +0\.412 ms +0\.412 ms +0\.412 ms +0\.412 ms$' "$dir/show.txt" ||
	sw_fail "show: the one-sample minute: $(sed -n '/latency per minute from fra1/,$p' "$dir/show.txt")"
grep -Eq '^[0-9-]+ [0-9:]+ +2 +33\.3% +0\.412 ms +0\.528 ms +0\.528 ms +0\.530 ms$' "$dir/show.txt" ||
	sw_fail "show: the two-sample minute"
[ "$(sed -n '/latency per minute from fra1/,/^$/p' "$dir/show.txt" | grep -c '^20')" -eq 2 ] ||
	sw_fail "show: the minute 2 h ago is outside --minutes 30"
ctl show 198.18.1.9:5432 --location fra1 --results 2 > "$dir/show2.txt" || sw_fail "show db"
[ "$(grep -c 'icmp code 13 from 198.18.255.1' "$dir/show2.txt")" -eq 2 ] || sw_fail "show: --results 2 / icmp detail"
grep -q '^ams1' "$dir/show2.txt" && sw_fail "show --location fra1 shows ams1"
ctl --json show 198.18.0.7:443 --minutes 10 | json '
s = {x["location"]: x for x in d["states"]}
assert d["target"] == "198.18.0.7:443" and s["fra1"]["state"] == "up" and s["ams1"]["state"] == "up", d
assert s["fra1"]["labels"] == {"team": "shop", "criticality": "high"} and s["fra1"]["last_rtt_us"] == 412.337
assert len(d["results"]) == 3 and d["results"][0]["rtt_us"] == "413.337", d["results"]
lat = d["latency"]["fra1"]
assert [m["n"] for m in lat] == [1, 2] and lat[1]["lost"] == 1 and abs(lat[1]["p95_ms"] - 0.528) < 1e-9, lat
' || sw_fail "show --json"
sw_pass "show: states per location, recent results, latency per minute decoded (text and --json)"

# ---- list ----
ctl list > "$dir/list.txt" || sw_fail "list"
[ "$(grep -c '^\(fra1\|ams1\) ' "$dir/list.txt")" -eq 5 ] || sw_fail "list: $(cat "$dir/list.txt")"
grep -Eq '^fra1 +198\.18\.1\.9:5432 +down +.* 5m0[0-2]s +Production DB$' "$dir/list.txt" || sw_fail "list: the down row"
ctl list --state down > "$dir/down.txt" || sw_fail "list --state down"
[ "$(grep -c ' down ' "$dir/down.txt")" -eq 1 ] && ! grep -q ' up ' "$dir/down.txt" || sw_fail "list --state down: $(cat "$dir/down.txt")"
ctl list --location ams1 | grep -q '^fra1' && sw_fail "list --location ams1 shows fra1"
ctl list --limit 2 | grep -q '^(3 more: raise --limit)$' || sw_fail "list --limit 2: $(ctl list --limit 2)"
ctl list --state flapping | grep -q '^no targets flapping$' || sw_fail "list: no flapping targets"
ctl --json list --state up | json 'assert sorted((x["location"], x["target"]) for x in d) == [("ams1", "198.18.0.7:443"), ("ams1", "198.18.1.9:5432"), ("fra1", "198.18.0.7:443"), ("fra1", "198.18.0.8:80")], d' ||
	sw_fail "list --json"
sw_pass "list: by state, by location, limited, --json"

# ---- probers ----
ctl probers > "$dir/probers.txt" || sw_fail "probers"
grep -Eq '^fra1/probe-1 +fra1 +[0-9]+s ago +3 +10000 +120 +0 +ok$' "$dir/probers.txt" || sw_fail "probers: $(cat "$dir/probers.txt")"
grep -Eq '^ams1/probe-a +ams1 +.* 1234 +isolated,overloaded$' "$dir/probers.txt" || sw_fail "probers: ams1"
grep -Eq '^fra1/probe-old +fra1 +10m0[0-2]s ago .* gone$' "$dir/probers.txt" || sw_fail "probers: the gone one"
ctl --json probers | json 'p = {x["prober"]: x for x in d}; assert p["ams1/probe-a"]["status"]["backlog"] == "1234" and not p["fra1/probe-old"]["alive"], d' ||
	sw_fail "probers --json"
sw_pass "probers: heartbeat age, load, isolated/overloaded, gone"

# ---- add / remove: the hash and the message on P runtime ----
redis-cli -s "$dir/r.sock" SUBSCRIBE synwatch:runtime > "$dir/sub.txt" 2>&1 &
sub=$!
sw_cleanup_add "kill $sub 2>/dev/null"
sw_wait_for 5 grep -qx 1 "$dir/sub.txt" || sw_fail "the subscriber did not subscribe"
ctl add 198.18.0.9:8080 --group web --name "Extra - 8080" --label team=shop --label tier=2 --interval 10s > "$dir/add.txt" ||
	sw_fail "add"
grep -q '^added 198.18.0.9:8080 ' "$dir/add.txt" || sw_fail "add: $(cat "$dir/add.txt")"
[ "$(redis-cli -s "$dir/r.sock" HGET synwatch:runtime:targets 198.18.0.9:8080)" = \
	'{"group":"web","name":"Extra - 8080","labels":{"team":"shop","tier":"2"},"interval":"10s"}' ] ||
	sw_fail "add: the hash holds $(redis-cli -s "$dir/r.sock" HGET synwatch:runtime:targets 198.18.0.9:8080)"
ctl add 198.18.7.0/24:443 > /dev/null || sw_fail "add a CIDR"
ctl add db-9.example.test:5432 > /dev/null || sw_fail "add a hostname"
ctl add '[2001:db8::5]:22' --json > /dev/null 2>&1 && sw_fail "--json after the command is not a global option"
ctl --json add '[2001:db8::5]:22' | json 'assert d["added"] == "[2001:db8::5]:22" and d["value"] == {}, d' || sw_fail "add --json"
ctl remove 198.18.0.9:8080 > /dev/null || sw_fail "remove"
[ -z "$(redis-cli -s "$dir/r.sock" HGET synwatch:runtime:targets 198.18.0.9:8080)" ] || sw_fail "remove left the field"
sw_wait_for 5 grep -qx "remove 198.18.0.9:8080" "$dir/sub.txt" || sw_fail "no remove message: $(cat "$dir/sub.txt")"
for msg in "add 198.18.0.9:8080" "add 198.18.7.0/24:443" "add db-9.example.test:5432" "add [2001:db8::5]:22"; do
	grep -qxF "$msg" "$dir/sub.txt" || sw_fail "no '$msg' on P runtime: $(cat "$dir/sub.txt")"
done
[ "$(redis-cli -s "$dir/r.sock" HLEN synwatch:runtime:targets)" = 3 ] || sw_fail "runtime targets"
sw_pass "add/remove: the runtime:targets hash and a message on P runtime for each"

# ---- silences ----
ctl silence add team=dba 'criticality!=low' --for 2h --comment "db-3 maintenance" > "$dir/sil.txt" || sw_fail "silence add"
grep -Eq '^silence [0-9a-f]{12}: team=dba, criticality!=low until .* \(2h00m\)$' "$dir/sil.txt" || sw_fail "silence add: $(cat "$dir/sil.txt")"
id=$(awk '{ print $2 }' "$dir/sil.txt" | tr -d :)
ctl silence add 'name=~db-.*' --for 30m > /dev/null || sw_fail "silence add regex"
ctl silence list > "$dir/sils.txt" || sw_fail "silence list"
grep -Eq "^$id +team=dba, criticality!=low +.* +1h59m|2h00m" "$dir/sils.txt" || sw_fail "silence list: $(cat "$dir/sils.txt")"
grep -q 'db-3 maintenance$' "$dir/sils.txt" || sw_fail "silence list: the comment"
ttl=$(redis-cli -s "$dir/r.sock" TTL "synwatch:silence:$id")
[ "$ttl" -gt 7000 ] && [ "$ttl" -le 7200 ] || sw_fail "the silence hash expires in $ttl s, want about 2 h"
ctl --json silence list | json 'assert len(d) == 2 and d[1]["matchers"] == ["team=dba", "criticality!=low"] and d[0]["matchers"] == ["name=~db-.*"], d' ||
	sw_fail "silence list --json (soonest end first)"
ctl silence remove "$id" > /dev/null || sw_fail "silence remove"
ctl --json silence list | json 'assert len(d) == 1, d' || sw_fail "silence remove left it"
sw_pass "silences: add with an expiry, list (text and --json), remove"

# ---- bad usage: exit 2; unreachable or missing: exit 1; one line each ----
expect_exit() { # CODE PATTERN ARGS...
	local want=$1 pat=$2 rc
	shift 2
	"$CTL" "$@" > "$dir/out" 2> "$dir/err" < /dev/null
	rc=$?
	[ $rc -eq "$want" ] || sw_fail "'synwatch-ctl $*' exited $rc, want $want: $(cat "$dir/err")"
	grep -qF -- "$pat" "$dir/err" || sw_fail "'synwatch-ctl $*': stderr lacks '$pat': $(cat "$dir/err")"
	[ "$(wc -l < "$dir/err")" -eq 1 ] || sw_fail "'synwatch-ctl $*': want one line on stderr: $(cat "$dir/err")"
	[ -s "$dir/out" ] && sw_fail "'synwatch-ctl $*' wrote to stdout on an error"
	return 0
}
expect_exit 2 "no command" --redis "$URL"
expect_exit 2 "unknown command 'frob'" --redis "$URL" frob
expect_exit 2 "unknown option '--bogus'" --bogus list
expect_exit 2 "option '--redis' needs a value" --redis
expect_exit 2 "expected redis://" --redis http://127.0.0.1 list
expect_exit 2 "no port" --redis "$URL" add 198.18.0.9
expect_exit 2 "port '99999' is not 1-65535" --redis "$URL" add 198.18.0.9:99999
expect_exit 2 "'198.18.1.0/16' is not an address or a CIDR" --redis "$URL" add 198.18.1.0/16:80
expect_exit 2 "--label 'x'" --redis "$URL" add 198.18.0.9:80 --label x
expect_exit 2 "--interval 'soon'" --redis "$URL" add 198.18.0.9:80 --interval soon
expect_exit 2 "expected one TARGET" --redis "$URL" remove
expect_exit 2 "target 'x': expected IP:PORT" --redis "$URL" show x
expect_exit 2 "--state 'sideways'" --redis "$URL" list --state sideways
expect_exit 2 "--limit '0'" --redis "$URL" list --limit 0
expect_exit 2 "--for DUR" --redis "$URL" silence add team=dba
expect_exit 2 "matcher 'team'" --redis "$URL" silence add team --for 1h
expect_exit 2 "at least one matcher" --redis "$URL" silence add --for 1h
expect_exit 2 "12 hex digits" --redis "$URL" silence remove nope
expect_exit 2 "expected add, list or remove" --redis "$URL" silence frob
expect_exit 1 "cannot connect to redis at unix://$dir/nope.sock" --redis "unix://$dir/nope.sock" list
expect_exit 1 "cannot connect to redis at unix://$dir/nope.sock" --redis "unix://$dir/nope.sock" add 198.18.0.9:80
SYNWATCH_REDIS="unix://$dir/nope.sock" expect_exit 1 "nope.sock" probers
expect_exit 1 "no runtime target '198.18.0.99:1'" --redis "$URL" remove 198.18.0.99:1
expect_exit 1 "no silence 'aaaaaaaaaaaa'" --redis "$URL" silence remove aaaaaaaaaaaa
expect_exit 1 "target '198.18.9.9:1' is not known" --redis "$URL" show 198.18.9.9:1
redis-cli -s "$dir/r.sock" SET other:schema 2 > /dev/null
expect_exit 1 "has schema 2, this program reads 1" --redis "$URL" --prefix other: list --location fra1
expect_exit 1 "has schema 2, this program reads 1" --redis "$URL" --prefix other: add 198.18.0.9:80
expect_exit 1 "P probers is empty" --redis "$URL" --prefix empty: list
sw_pass "bad usage exits 2, unreachable Redis, a foreign schema and missing things exit 1, one line each"
