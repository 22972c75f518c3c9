#!/bin/bash
# The test fleet's own test (tests/fleet/fleet, fleet-responder): a fleet of a few
# hundred endpoints of every kind must answer as its truth file says, seen
# with plain tools from the prober namespace (the kernel's connect() through
# tests/integration/fleet_probe.py, hping3 for the ICMP codes), 'fleet set'
# must change one endpoint at a time, and 'fleet down' must leave nothing:
# no namespace, link, nft table, TUN device, process or state, also after a
# crash. Nothing of synwatch is involved. Traffic: only the fleet's own
# 198.18.0.0/15 addresses, inside its namespaces.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd ip nft hping3 awk
[ -x "$SW_PY" ] || sw_fail "'$SW_PY' is missing; install python3 with: tools/deps.sh test"
out=
sw_tmpdir out
t_begin=$(sw_now_ms)

name=$(sw_unique fl)
seed=$RANDOM
# unreach: 4 of each code nftables can send; slow: delay models of every shape
spec="open=100,closed=80,filtered=20,unreach=28@0+1+2+3+9+10+13"
spec+=",slow=12@fixed:150ms,slow=12@fixed:40ms,slow=10@uniform:20ms-60ms,slow=6@exp:20ms"
spec+=",slow=6@lognormal:30ms:0.4,lossy=8@loss:0.5+fixed:5ms,flap=10@period:2s,ports=80,443"
sw_info "fleet '$name', seed $seed"
sw_fleet_up "$name" --spec "$spec" --seed "$seed" --truth "$out/truth.tsv"
truth=$out/truth.tsv
ns_p=swf-$name-p
rundir=/run/swf/$name

# a connect() slower than its programmed delay by more than this fails
slack_ms=30

probe() { # fleet_probe.py ARGS..., from the prober namespace
	ip netns exec "$ns_p" "$SW_PY" "$SW_TOP/tests/integration/fleet_probe.py" "$@"
}
endpoints() { # KIND: ADDR:PORT lines of that kind from the truth
	awk -F'\t' -v k="$1" 'NR > 1 && $3 == k { print $1 ":" $2 }' "$truth"
}
json_get() { # FILE EXPR: a value out of the JSON in FILE (EXPR on 'j')
	"$SW_PY" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# ICMP code of hping3's answer to one SYN, "tcp FLAGS" for a TCP one, "none"
hping_code() { # ADDR PORT
	local line
	line=$(ip netns exec "$ns_p" hping3 -S -n -c 1 -p "$2" "$1" 2> /dev/null |
		grep -E '^ICMP|flags=' | head -1)
	case $line in
	*"Network Unreachable from"*) echo 0 ;;
	*"Host Unreachable from"*) echo 1 ;;
	*"Protocol Unreachable from"*) echo 2 ;;
	*"Port Unreachable from"*) echo 3 ;;
	*"Packet filtered from"*) echo 13 ;;
	*"Unreachable type="*) line=${line#*type=}; echo "${line%% *}" ;;
	*flags=*) line=${line#*flags=}; echo "tcp ${line%% *}" ;;
	*) echo none ;;
	esac
}
# awk helpers: durations of the truth's parameters in ms, and one parameter
AWK_LIB='
function dur(s) {
	if (s ~ /ms$/) return substr(s, 1, length(s) - 2) + 0
	if (s ~ /us$/) return substr(s, 1, length(s) - 2) / 1000
	if (s ~ /s$/) return substr(s, 1, length(s) - 1) * 1000
	return -1
}
function param(spec, key,   n, i, p) {
	n = split(spec, p, ",")
	for (i = 1; i <= n; i++)
		if (index(p[i], key ":") == 1)
			return substr(p[i], length(key) + 2)
	return ""
}'

# ---- the fleet as described
sw_fleet status --name "$name" > "$out/status.json" || sw_fail "fleet status failed"
[ "$(json_get "$out/status.json" 'j["healthy"]')" = True ] || sw_fail "status: not healthy: $(cat "$out/status.json")"
[ "$(json_get "$out/status.json" 'j["endpoints"]')" = 292 ] || sw_fail "status: want 292 endpoints"
[ "$(json_get "$out/status.json" 'j["truth"]')" = "$truth" ] || sw_fail "status: wrong truth path"
want_counts="closed 80 filtered 20 flap 10 lossy 8 open 100 slow 46 unreach 28"
got_counts=$(awk -F'\t' 'NR > 1 { n[$3]++ } END { for (k in n) print k, n[k] }' "$truth" | sort | tr '\n' ' ')
[ "$got_counts" = "$want_counts " ] || sw_fail "truth counts '$got_counts', want '$want_counts'"
pids=$(json_get "$out/status.json" '" ".join(map(str, j["target_pids"]))')
[ "$(wc -w <<< "$pids")" -eq 3 ] || sw_fail "want 2 listeners and a responder, got pids '$pids'"
# the safety rule: from the prober, only the fleet's range is routable
ip -n "$ns_p" route get 192.0.2.1 > /dev/null 2>&1 && sw_fail "the prober namespace routes outside 198.18.0.0/15"
sw_fleet up --name "$name" --spec open=1 2> "$out/dup.err" && sw_fail "a second 'fleet up --name $name' succeeded"
grep -q "fleet down --name $name" "$out/dup.err" || sw_fail "duplicate fleet: unhelpful message '$(cat "$out/dup.err")'"

# ---- every endpoint once: the kernel's connect() sees the programmed answer
awk -F'\t' 'NR > 1 { print $1 ":" $2 }' "$truth" | probe --timeout 0.9 - > "$out/once.tsv" ||
	sw_fail "fleet_probe.py failed"
awk -F'\t' -v slack="$slack_ms" "$AWK_LIB"'
NR == FNR { if (FNR > 1) { kind[$1 ":" $2] = $3; code[$1 ":" $2] = $4; spec[$1 ":" $2] = $5 }; next }
{
	k = $1 ":" $2; r = $5; ms = $6; kd = kind[k]; why = ""; seen[k] = 1
	if (kd == "") why = "not in the truth"
	else if (kd == "open" && r != "connected") why = "want connected"
	else if (kd == "closed" && r != "ECONNREFUSED") why = "want ECONNREFUSED (RST)"
	else if (kd == "filtered" && r != "timeout") why = "want a timeout (no answer at all)"
	else if (kd == "unreach") {
		# how the kernel files each ICMP code (net/ipv4/icmp.c icmp_err_convert)
		c = code[k] + 0
		want = (c == 0 || c == 9) ? "ENETUNREACH" : (c == 1 || c == 10 || c == 13) ? "EHOSTUNREACH" : \
		       (c == 2) ? "ENOPROTOOPT" : "ECONNREFUSED"
		if (r != want) why = "want " want " for ICMP code " c
		else if (ms > 100) why = "an ICMP error should be immediate"
	} else if (kd == "slow") {
		lo = 0; hi = -1
		if ((d = param(spec[k], "fixed")) != "") { lo = dur(d); hi = lo + slack }
		if ((d = param(spec[k], "uniform")) != "") { split(d, ab, "-"); lo = dur(ab[1]); hi = dur(ab[2]) + slack }
		if (r != "connected") why = "want connected"
		else if (ms < lo || (hi >= 0 && ms > hi)) why = sprintf("want %.0f-%.0f ms", lo, hi)
	} else if (kd == "lossy" && r != "connected" && r != "timeout") why = "want connected or a timeout"
	else if (kd == "flap" && r != "connected" && r != "ECONNREFUSED") why = "want connected or ECONNREFUSED"
	if (why != "") { printf "  %s %s %s %s: got %s after %.1f ms, %s\n", k, kd, code[k], spec[k], r, ms, why; bad++ }
}
END {
	for (k in kind) if (!(k in seen)) { printf "  %s %s: no result\n", k, kind[k]; bad++ }
	exit (bad > 0)
}' "$truth" "$out/once.tsv" > "$out/once.bad" || { cat "$out/once.bad" >&2; sw_fail "$(wc -l < "$out/once.bad") endpoints answered wrongly (see above)"; }
sw_info "292 endpoints answered as programmed ($(($(sw_now_ms) - t_begin)) ms so far)"

# ---- unreach: the exact ICMP code, read off the wire by hping3
while IFS=: read -r ip port; do
	want=$(awk -F'\t' -v ip="$ip" -v p="$port" '$1 == ip && $2 == p { print $4 }' "$truth")
	got=$(hping_code "$ip" "$port")
	[ "$got" = "$want" ] || sw_fail "$ip:$port: hping3 saw ICMP code '$got', want $want"
done < <(endpoints unreach)
sw_info "28 ICMP codes right ($(($(sw_now_ms) - t_begin)) ms so far)"

# ---- lossy: some but not all of 40 SYNs per endpoint answered, after the delay
endpoints lossy | probe --tries 40 --spacing 0.005 --timeout 0.3 - > "$out/lossy.tsv" ||
	sw_fail "fleet_probe.py failed (lossy)"
awk -F'\t' '
{ n[$1 ":" $2]++ }
$5 == "connected" { ok[$1 ":" $2]++; okall++; if ($6 < 5) fast++ }
$5 != "connected" && $5 != "timeout" { other++ }
END {
	for (k in n) {
		# loss 0.5, 40 tries: outside 6..34 answered has a chance of about 1e-6
		if (ok[k] < 6 || ok[k] > 34) { printf "  %s: %d of %d answered, want 6-34 (loss 0.5)\n", k, ok[k], n[k]; bad++ }
		all += n[k]
	}
	if (all != 320) { printf "  %d attempts, want 320\n", all; bad++ }
	if (okall < 0.35 * all || okall > 0.65 * all) { printf "  %d of %d answered overall, want 35-65%%\n", okall, all; bad++ }
	if (other) { printf "  %d answers neither a SYN-ACK nor silence\n", other; bad++ }
	if (fast) { printf "  %d answers faster than the 5 ms delay\n", fast; bad++ }
	exit (bad > 0)
}' "$out/lossy.tsv" > "$out/lossy.bad" || { cat "$out/lossy.bad" >&2; sw_fail "lossy endpoints misbehave"; }

# ---- flap: open in the first half of each period, closed in the second
endpoints flap | probe --tries 24 --spacing 0.1 --timeout 0.3 - > "$out/flap.tsv" ||
	sw_fail "fleet_probe.py failed (flap)"
awk -F'\t' "$AWK_LIB"'
NR == FNR { if (FNR > 1 && $3 == "flap") spec[$1 ":" $2] = $5; next }
{
	k = $1 ":" $2; period = dur(param(spec[k], "period")); phase = dur(param(spec[k], "phase"))
	t = $4 * 1000 + phase; pos = t - period * int(t / period); half = period / 2
	# the same clock on both sides, but keep off the edges
	edge = pos < half ? (pos < half - pos ? pos : half - pos) : (pos - half < period - pos ? pos - half : period - pos)
	if (edge < 25) next
	want = pos < half ? "connected" : "ECONNREFUSED"
	n[k]++; got[k, $5]++
	if ($5 != want) { printf "  %s at %.3f (%.0f ms into its %g ms period): %s, want %s\n", k, $4, pos, period, $5, want; bad++ }
}
END {
	for (k in spec) {
		if (n[k] < 15) { printf "  %s: only %d usable samples\n", k, n[k]; bad++ }
		if (!got[k, "connected"] || !got[k, "ECONNREFUSED"]) { printf "  %s: never changed state\n", k; bad++ }
	}
	exit (bad > 0)
}' "$truth" "$out/flap.tsv" > "$out/flap.bad" || { cat "$out/flap.bad" >&2; sw_fail "flap endpoints off their schedule"; }
sw_info "lossy and flap behave ($(($(sw_now_ms) - t_begin)) ms so far)"

# ---- fleet set: one endpoint at a time, kernel block (nftables) and responder block
closed1=$(endpoints closed | head -1)
open1=$(endpoints open | head -1)
slow1=$(endpoints slow | head -1)
new1=198.19.127.250:8080 # no endpoint of the spec (ports 80, 443)
sw_fleet set --name "$name" "$closed1" open 2> /dev/null || sw_fail "fleet set $closed1 open failed"
sw_fleet set --name "$name" "$open1" filtered 2> /dev/null || sw_fail "fleet set $open1 filtered failed"
sw_fleet set --name "$name" "$slow1" unreach:13 2> /dev/null || sw_fail "fleet set $slow1 unreach:13 failed"
sw_fleet set --name "$name" "$new1" slow:fixed:80ms 2> /dev/null || sw_fail "fleet set $new1 slow failed"
probe --timeout 0.5 "$closed1" "$open1" "$slow1" "$new1" > "$out/set.tsv"
check_set() { # ENDPOINT RESULT MIN-MS MAX-MS
	local got
	got=$(awk -F'\t' -v ep="$1" '$1 ":" $2 == ep { print $5, $6 }' "$out/set.tsv")
	awk -v g="$got" -v r="$2" -v lo="$3" -v hi="$4" 'BEGIN { split(g, a, " "); exit !(a[1] == r && a[2] >= lo && a[2] <= hi) }' ||
		sw_fail "after fleet set, $1 answered '$got', want $2 in $3-$4 ms"
}
check_set "$closed1" connected 0 100
check_set "$open1" timeout 400 1000
check_set "$slow1" EHOSTUNREACH 0 100
check_set "$new1" connected 80 $((80 + slack_ms))
[ "$(hping_code "${slow1%:*}" "${slow1#*:}")" = 13 ] || sw_fail "$slow1: the responder's ICMP is not code 13 on the wire"
grep -qP "^${new1%:*}\t${new1#*:}\tslow\t-\tfixed:80ms$" "$truth" || sw_fail "the truth file lacks $new1"
grep -qP "^${closed1%:*}\t${closed1#*:}\topen\t" "$truth" || sw_fail "the truth file still has $closed1 closed"
# a delayed ICMP error, and back to closed
sw_fleet set --name "$name" "$slow1" unreach:1:fixed:60ms 2> /dev/null || sw_fail "fleet set unreach with a delay failed"
sw_fleet set --name "$name" "$new1" closed 2> /dev/null || sw_fail "fleet set $new1 closed failed"
probe --timeout 0.5 "$slow1" "$new1" > "$out/set.tsv"
check_set "$slow1" EHOSTUNREACH 60 $((60 + slack_ms))
check_set "$new1" ECONNREFUSED 0 100
# refused: outside the fleet, slow in the kernel block, open without a listener
sw_fleet set --name "$name" 192.0.2.1:80 open 2> /dev/null && sw_fail "fleet set accepted an address outside the fleet"
sw_fleet set --name "$name" 198.18.0.9:80 slow:fixed:1ms 2> /dev/null && sw_fail "fleet set accepted slow in the kernel block"
sw_fleet set --name "$name" 198.18.0.9:22 open 2> /dev/null && sw_fail "fleet set accepted open on a port nobody listens on"

sw_fleet status --name "$name" --stats > "$out/stats.json" || sw_fail "fleet status --stats failed"
stats=$(json_get "$out/stats.json" 'j["responder_stats"]')
[[ $stats == *"lost 0,"* ]] && sw_fail "responder lost nothing, yet lossy endpoints were probed: $stats"
[[ $stats == *"heap full 0,"* && $stats == *"write errors 0,"* && $stats == *"(0 failed)"* ]] ||
	sw_fail "responder trouble: $stats"
sw_info "fleet set and status work ($(($(sw_now_ms) - t_begin)) ms so far)"

# ---- down leaves nothing
gone() { # NAME [PIDS]: fails naming whatever of fleet NAME is left
	local n=$1 pid left=""
	ip netns list | grep -Eq "^swf-$n-[pt]( |$)" && left+=" namespace:$(ip netns list | grep -E "^swf-$n-" | tr '\n' ' ')"
	for dev in "swf${n}p" "swf${n}t" "swf${n}r"; do
		[ -e "/sys/class/net/$dev" ] && left+=" link:$dev"
	done
	nft list tables 2> /dev/null | grep -q "swf_$n\$" && left+=" nft-table:swf_$n"
	for pid in ${2:-}; do sw_pid_alive "$pid" && left+=" pid:$pid"; done
	pgrep -f -- "--watch /run/swf/$n( |\$)" > /dev/null && left+=" process:$(pgrep -f -- "--watch /run/swf/$n( |\$)" | tr '\n' ' ')"
	[ -e "/run/swf/$n" ] && left+=" state:/run/swf/$n"
	[ -z "$left" ] || sw_fail "after fleet down, left over:$left"
}
[ -f "$rundir/state.json" ] || sw_fail "no state file '$rundir/state.json' while up"
sw_fleet down --name "$name" 2> /dev/null || sw_fail "fleet down failed"
gone "$name" "$pids"
sw_fleet down --name "$name" 2> "$out/down2.err" || sw_fail "a second fleet down failed"
grep -q "nothing to remove" "$out/down2.err" || sw_fail "a second fleet down said '$(cat "$out/down2.err")'"

# ---- after a crash: responder killed, state file lost, one namespace deleted by hand;
# port 443 is nolisten: no listener of the fleet's (bench/checks.sh puts nginx there)
name2=$(sw_unique fc)
sw_fleet_up "$name2" --spec "open=3,slow=3@fixed:10ms,ports=80+443,nolisten=443,layout=dense"
sw_fleet status --name "$name2" > "$out/status2.json" || sw_fail "fleet status failed"
pids2=$(json_get "$out/status2.json" '" ".join(map(str, j["target_pids"]))')
[ "$(wc -w <<< "$pids2")" -eq 2 ] || sw_fail "nolisten=443: want the listener of port 80 and a responder, got pids '$pids2'"
ip netns exec "swf-$name2-t" ss -Hltn 'sport = :443' | grep -q . && sw_fail "nolisten=443: something listens on 443"
name3=$(sw_unique fx)
sw_cleanup_add "sw_fleet down --name '$name3'"
sw_fleet up --name "$name3" --spec "open=1,ports=80,nolisten=443" 2> "$out/nolisten.err" &&
	sw_fail "nolisten accepted a port that is not one of the fleet's"
grep -q "nolisten port 443 is not one of the fleet's ports" "$out/nolisten.err" ||
	sw_fail "nolisten of a port not in ports: unhelpful message '$(cat "$out/nolisten.err")'"
kill -9 "$(json_get "$out/status2.json" 'j["responder_pid"]')"
rm -f "/run/swf/$name2/state.json"
ip netns del "swf-$name2-p"
sw_fleet status --name "$name2" > /dev/null 2>&1 && sw_fail "status of a fleet without its state succeeded"
sw_fleet down --name "$name2" 2> /dev/null || sw_fail "fleet down after a crash failed"
gone "$name2" "$pids2"

sw_pass "fleet: 292 endpoints of 7 kinds answer as programmed, set/status/down work, nothing left ($(($(sw_now_ms) - t_begin)) ms)"
