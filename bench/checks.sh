#!/bin/bash
# Service checks per second and CPU per check (issue 17): the real daemon
# (build/synwatch) checking `connect` and `tls` on a fleet of N hosts, side
# by side in one run with Debian's prometheus-blackbox-exporter probing the
# same endpoints through its /probe API, and with the floor: the TLS
# handshake's crypto alone (openssl speed).
#
# The fleet (tests/fleet/fleet, spec nolisten=80+443): hosts of
# 198.18.0.0/16, local addresses of its target namespace, where one nginx
# (bench/tls-bench.sh: P-256 leaf from a P-256 CA, TLS 1.3, X25519) answers
# on port 443 with TLS and on port 80 in the clear for every address. From
# the prober namespace, in monitoring mode, a YAML config each run:
#   connect steady  N hosts :80 /connect, SYN and check every N/RATE s
#   tls full        FULL_RATE x 8 hosts :443 /tls, every 8 s: the window is
#                   the first round, each target's first check, a full
#                   handshake
#   tls steady      N hosts :443 /tls every N/RATE s, after every target's
#                   first check: the default policy (a full handshake every
#                   16th check), ca_file and verify: true, sni the
#                   certificate's name
#   connect max, tls max  steps of CHECKS_MAX_STEPS / _TLS_STEPS hosts every
#                   second, rate 1000000 (the checker opens at most rate/10
#                   connections a second): as many checks as the machine
#                   does, and what happens beyond
#   syn, idle       the connect run without its checks (SYNs alone), and 5
#                   hosts without checks: what monitoring costs around the
#                   checks
# bench/checks.py samples the process's and its sw-checker thread's CPU
# (/proc/PID/stat, /proc/PID/task/TID/stat) and nginx's workers every 0.25 s
# and counts the NDJSON "check" lines whose ts falls in the window. The
# process's CPU includes the SYN probe before each check (one a check in the
# steady runs) and the NDJSON output.
# blackbox_exporter runs in the prober namespace (modules tcp_connect and
# tls, the same CA and server name, verified); curl --parallel asks
# /probe?module=...&target=198.18.x.y:PORT over the same N hosts; its CPU is
# blackbox_exporter's alone, not curl's.
#
# usage: bench/checks.sh > checks.md   (bench/bench.sh runs it as section 'checks')
# Prints a markdown section; the raw runs go to $CHECKS_OUT (default
# bench/out/checks). About 6 minutes on 2 cores, up to 2 more waiting for a
# quiet machine. Runs as root; probes only the fleet's 198.18.0.0/16 inside
# its namespaces; the fleet, nginx, blackbox_exporter and the temporary
# directory go at exit, also on failure or Ctrl-C.
# Environment: CHECKS_N (500 hosts), CHECKS_RATE (500 checks/s asked in the
# steady runs; N/RATE, the interval, must be whole seconds), CHECKS_T (the
# steady runs' window, default 16 intervals, so that the tls one holds one
# full handshake per target), CHECKS_FULL_RATE (200 full handshakes/s asked),
# CHECKS_MAX_STEPS ("8000 16000" hosts), CHECKS_MAX_TLS_STEPS ("1000 2000"),
# CHECKS_MAX_T (5 s, their window),
# CHECKS_REPEATS (3; the figure is the median, the minimum beside it),
# CHECKS_BB_N (1000 probes a module and repeat), CHECKS_BB_CONC (32 in
# flight), CHECKS_NGINX_WORKERS (nproc), CHECKS_SPEED_SECONDS (3),
# CHECKS_QUIET_MAX (30) and CHECKS_QUIET_BUDGET (120): before each repeat,
# wait until other work keeps the machine at most that % busy, for at most
# that many seconds in all.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/bench/lib.sh"
. "$top/bench/tls-bench.sh"

N=${CHECKS_N:-500}
RATE=${CHECKS_RATE:-500}
FULL_RATE=${CHECKS_FULL_RATE:-200}
read -ra max_steps <<< "${CHECKS_MAX_STEPS:-8000 16000}"
read -ra max_tls_steps <<< "${CHECKS_MAX_TLS_STEPS:-1000 2000}"
cmax=("${max_steps[@]/#/cmax-}")
tmax=("${max_tls_steps[@]/#/tmax-}")
MAX_T=${CHECKS_MAX_T:-5}
BASE_T=6 # the SYN-only and idle runs' window
REPEATS=${CHECKS_REPEATS:-3}
BB_N=${CHECKS_BB_N:-1000}
BB_CONC=${CHECKS_BB_CONC:-32}
WORKERS=${CHECKS_NGINX_WORKERS:-$(nproc)}
SPEED_S=${CHECKS_SPEED_SECONDS:-3}
QUIET_MAX=${CHECKS_QUIET_MAX:-30}
QUIET_BUDGET=${CHECKS_QUIET_BUDGET:-120}
OUT=${CHECKS_OUT:-$top/bench/out/checks}
NAME=tls.synwatch.test
FULL_IV=8 # the tls full run's interval: its first round
PY=$SW_PY

sw_require_root
sw_require_cmd ip nft nginx openssl curl awk
[ -x "$PY" ] || sw_fail "$PY is missing (Debian's python3)"
sw_require_bin synwatch fleet-responder
[ $((N % RATE)) -eq 0 ] || sw_fail "CHECKS_N $N / CHECKS_RATE $RATE is no whole number of seconds (the interval)"
IV=$((N / RATE))
T=${CHECKS_T:-$((16 * IV))}
FULL_N=$((FULL_RATE * FULL_IV))
hosts_n=$N
for h in "$FULL_N" "${max_steps[@]}" "${max_tls_steps[@]}"; do [ "$h" -gt "$hosts_n" ] && hosts_n=$h; done
[ "$hosts_n" -le 65534 ] || sw_fail "$hosts_n hosts asked for; the fleet's block holds 65534"

bench_out "$OUT" '*.samples' '*.ndjson.gz'
chmod 755 "$tmp" # synwatch reads the CA file after leaving root (its own user, where there is one)
# others rebuild build/ while this runs: measure one fixed copy
cp "$SW_BIN/synwatch" "$tmp/synwatch" || sw_fail "cannot copy $SW_BIN/synwatch"
SW=$tmp/synwatch

# other work on the machine, before anything of ours runs
busy_before=$(busy)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
procs_before=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 10 { printf "%s%s %s%%", sep, $2, $1; sep = ", " }')

# ------------------------------------------------------------------ fleet, nginx

name=$(sw_unique bc)
pns=swf-$name-p
tns=swf-$name-t
log "fleet '$name': $hosts_n hosts of 198.18.0.0/16, ports 80 and 443 open, served by nginx ($WORKERS workers)"
sw_fleet_up "$name" --spec "open=$((2 * hosts_n)),ports=80,443,nolisten=80+443,layout=dense" --truth "$tmp/truth.tsv"
# whatever still runs in the prober namespace at exit (a synwatch, curl,
# blackbox_exporter) is ours: stopped before the fleet goes
sw_cleanup_add "ip netns pids '$pns' | xargs -r kill -9"
awk -F'\t' 'NR > 1 && $2 == 443 { print $1 }' "$tmp/truth.tsv" > "$tmp/hosts.txt"
tls_server_up "$tmp" "$NAME" --listen 0.0.0.0 --port 443 --plain 80 --workers "$WORKERS" --netns "$tns"

# config ID KIND HOSTS INTERVAL RATE: $tmp/ID.yaml, one group of the
# first HOSTS hosts, port 80 (connect, or none: no check) or 443 (tls),
# SYN and check every INTERVAL
config() {
	local id=$1 kind=$2 n=$3 iv=$4 rate=$5
	{
		printf 'location: bench\nrate: %s\ngroups:\n  - name: %s\n    interval: %s\n' "$rate" "$id" "$iv"
		printf '    timeout: 500ms\n    retries: 0\n'
		case $kind in
		tls) printf '    ports: [443]\n    check: { kind: tls, ca_file: %s, verify: true, sni: %s }\n' "$tmp/ca.pem" "$NAME" ;;
		connect) printf '    ports: [80]\n    check: connect\n' ;;
		*) printf '    ports: [80]\n' ;; # SYNs alone
		esac
		printf '    hosts: [%s]\n' "$(head -n "$n" "$tmp/hosts.txt" | paste -sd,)"
	} > "$tmp/$id.yaml"
}

checks_seen() { # NDJSON: its check lines so far
	grep -c '^{"type":"check"' "$1" 2> /dev/null
}

# measure ID REP WAIT LEN: synwatch -c $tmp/ID.yaml, sampled by
# checks.py; WAIT says when the window starts: a number of seconds, or
# "first N" (once N checks are in, then one interval more); the window is
# LEN seconds. Appends the window's key=value line to $OUT/ID.txt.
measure() {
	local id=$1 rep=$2 wait=$3 len=$4 spid smp from line f=$tmp/$1.ndjson
	ip netns exec "$pns" "$SW" -c "$tmp/$id.yaml" --output ndjson --no-latency > "$f" 2> "$tmp/$id.err" &
	spid=$!
	"$PY" "$top/bench/checks.py" sample "$spid" --nginx "$nginx_pid" > "$OUT/$id-$rep.samples" &
	smp=$!
	sw_wait_for 20 grep -q "monitoring" "$tmp/$id.err" || sw_fail "synwatch ($id) did not start: $(tail -3 "$tmp/$id.err")"
	case $wait in
	first*)
		# every target's first check, however long it takes on a busy machine
		local want=${wait#first } t0=$SECONDS
		while [ "$(checks_seen "$f")" -lt "$want" ]; do
			[ $((SECONDS - t0)) -ge 120 ] && { log "$id: only $(checks_seen "$f") of $want first checks in 120 s"; break; }
			sleep 0.25
		done
		sleep "$IV"
		;;
	*) sleep "$wait" ;;
	esac
	from=$(date +%s%N)
	sleep "$len"
	sleep 0.5
	kill -INT "$spid"
	wait "$spid"
	wait "$smp"
	line=$("$PY" "$top/bench/checks.py" window "$OUT/$id-$rep.samples" "$f" --from "$from" --len "$len")
	log "$id, repeat $rep: $line"
	echo "rep=$rep $line" >> "$OUT/$id.txt"
	grep -h '^{"type":"check"' "$f" | gzip -1 > "$OUT/$id-$rep.checks.ndjson.gz"
	rm -f "$f"
}

# bb MODULE PORT MODE: BB_N /probe requests of blackbox_exporter's MODULE
# over the N hosts' PORT, with nginx's CPU; appended to $OUT/MODE.txt
bb() {
	local s0 s1 line
	awk -v u="$bb_url/probe?module=$1&target=" -v p="$2" -v n="$BB_N" '{ h[NR] = $1 }
		END { for (i = 0; i < n; i++) print u h[i % NR + 1] ":" p }' <(head -n "$N" "$tmp/hosts.txt") > "$tmp/urls.txt"
	s0=$(nginx_ticks)
	line=$(blackbox_probe "$tmp" "$tmp/urls.txt" "$BB_CONC" "$pns")
	s1=$(nginx_ticks)
	line="$line srv_us=$(echo "$line" | field n | awk -v a="$s0" -v b="$s1" -v hz="$(getconf CLK_TCK)" \
		'{ printf "%.1f", ($1 > 0 ? 1e6 * (b - a) / hz / $1 : 0) }')"
	log "$3: $line"
	echo "$line" >> "$OUT/$3.txt"
}

config connect "connect" "$N" "${IV}s" 10000
config tls "tls" "$N" "${IV}s" 10000
config full "tls" "$FULL_N" "${FULL_IV}s" 10000
for h in "${max_steps[@]}"; do config "cmax-$h" connect "$h" 1s 1000000; done
for h in "${max_tls_steps[@]}"; do config "tmax-$h" tls "$h" 1s 1000000; done
config syn none "$N" "${IV}s" 10000
config idle none 5 "${IV}s" 10000

bb_ok=0
if [ "$BB_N" -gt 0 ] && blackbox_up "$tmp" "$NAME" "$pns"; then
	bb_ok=1
	# a warm-up, not counted
	head -n 100 "$tmp/hosts.txt" | awk -v u="$bb_url/probe?module=tls&target=" '{ print u $1 ":443" }' > "$tmp/urls-warm.txt"
	blackbox_probe "$tmp" "$tmp/urls-warm.txt" "$BB_CONC" "$pns" > /dev/null
fi

# ------------------------------------------------------------------ the runs

log "$N hosts at ${IV}s ($RATE checks/s asked), window $T s; tls full: $FULL_N hosts at ${FULL_IV}s; max: ${max_steps[*]} / ${max_tls_steps[*]} hosts at 1s; $REPEATS repeats"
rm -f "$OUT/busy.txt"
t_begin=$SECONDS
for rep in $(seq "$REPEATS"); do
	wait_quiet
	measure connect "$rep" "$((IV + 1))" "$T"
	measure tls "$rep" "first $N" "$T"
	measure full "$rep" 1.5 $((FULL_IV - 2))
	for id in "${cmax[@]}"; do measure "$id" "$rep" 2 "$MAX_T"; done
	for id in "${tmax[@]}"; do measure "$id" "$rep" 4 "$MAX_T"; done
	measure syn "$rep" 2 "$BASE_T"
	measure idle "$rep" 2 "$BASE_T"
	if [ "$bb_ok" = 1 ]; then
		bb tcp_connect 80 bb-connect
		bb tls 443 bb-tls
	fi
	log "repeat $rep done ($((SECONDS - t_begin)) s)"
done
busy_after=$(busy)
crypto_floor "$SPEED_S"

# ------------------------------------------------------------------ report

# m MODE KEY [DECIMALS]: the median of KEY over the repeats; mm: "median (min)"
m() {
	[ -s "$OUT/$1.txt" ] || { echo "–"; return; }
	field "$2" < "$OUT/$1.txt" | median "${3:-0}"
}
mm() {
	[ -s "$OUT/$1.txt" ] || { echo "–"; return; }
	echo "$(m "$@") ($(field "$2" < "$OUT/$1.txt" | minimum "${3:-0}"))"
}
# median_line MODE KEY: the repeat's line whose KEY is the median (the lower one of two)
median_line() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) "\t" $0 }' \
		"$OUT/$1.txt" | sort -g | awk -F'\t' '{ l[NR] = $2 } END { if (NR) print l[int((NR + 1) / 2)] }'
}
# ms MODE KEY: a µs median (min) as CPU seconds per 1000 checks
ms() {
	[ -s "$OUT/$1.txt" ] || { echo "–"; return; }
	awk -v a="$(m "$1" "$2" 1)" -v b="$(field "$2" < "$OUT/$1.txt" | minimum 1)" \
		'BEGIN { printf "%.3f (%.3f)", a / 1000, b / 1000 }'
}
# usersys MODE [PREFIX]: "user / sys", the medians of PREFIX_user_us and
# PREFIX_sys_us (user_us, sys_us without a prefix) in CPU s per 1000
usersys() {
	[ -s "$OUT/$1.txt" ] || { echo "–"; return; }
	awk -v u="$(m "$1" "${2:+$2_}user_us" 1)" -v s="$(m "$1" "${2:+$2_}sys_us" 1)" \
		'BEGIN { printf "%.3f / %.3f", u / 1000, s / 1000 }'
}
# div A B [DECIMALS]: A / B, "–" when either is missing
div() {
	awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (a == "–" || b == "–" || a == "" || b == "" || b == 0) print "–";
		else printf "%." d "f", a / b }'
}

floor_full=$(awk -v x="$x25519_us" -v v="$verify_us" 'BEGIN { printf "%.1f", 2 * x + 2 * v }')
floor_res=$(awk -v x="$x25519_us" 'BEGIN { printf "%.1f", 2 * x }')
floor_16=$(awk -v f="$floor_full" -v r="$floor_res" 'BEGIN { printf "%.1f", (f + 15 * r) / 16 }')
# floor MODE: the crypto floor of the handshakes MODE did (its median share of full ones)
floor() {
	awk -v p="$(m "$1" full_pct 2)" -v f="$floor_full" -v r="$floor_res" \
		'BEGIN { if (p == "–") print "–"; else printf "%.1f", (p * f + (100 - p) * r) / 100 }'
}
bb_c=$(m bb-connect cpu_us 1)
bb_t=$(m bb-tls cpu_us 1)
# row KIND RUN MODE BB: one synwatch row; BB is blackbox_exporter's µs per probe of the kind
row() {
	local mode=$3 fl="–" xf="–" full="–"
	if [ "$1" = tls ]; then
		full=$(m "$mode" full_pct 1)
		fl=$(floor "$mode")
		xf="$(div "$(m "$mode" proc_us 1)" "$fl") / $(div "$(m "$mode" chk_us 1)" "$fl")"
	fi
	echo "| $1 | $2 | $(mm "$mode" ok_per_s) | $(m "$mode" ok) of $(m "$mode" n) | $full | $(ms "$mode" proc_us) | $(usersys "$mode" proc) | $(ms "$mode" chk_us) | $(usersys "$mode" chk) | $(div "$4" "$(m "$mode" proc_us 1)") / $(div "$4" "$(m "$mode" chk_us 1)") | $xf | $(ms "$mode" srv_us) |"
}
bbrow() { # KIND MODULE MODE FULL_PCT FLOOR
	local xf="–"
	[ -n "$5" ] && xf=$(div "$(m "$3" cpu_us 1)" "$5")
	echo "| $1 | blackbox_exporter $bb_ver, module $2, $BB_CONC probes in flight | $(mm "$3" per_s) | $(m "$3" ok) of $(m "$3" n) | $4 | $(ms "$3" cpu_us) | $(usersys "$3") | – | – | 1 | $xf | $(ms "$3" srv_us) |"
}
bb_ver=$(dpkg-query -W -f='${Version}' prometheus-blackbox-exporter 2> /dev/null)

echo "## Service checks: synwatch and blackbox_exporter (bench/checks.sh)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),"
echo "$(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME"), kernel $(uname -r); synwatch $(git -C "$top" describe --always --dirty 2> /dev/null || echo '?')"
echo "(release build). Other work kept the machine $busy_before % busy before the run (load $load_before${procs_before:+; $procs_before}),"
echo "$(tr '\n' ' ' < "$OUT/busy.txt" | sed 's/ $//; s/ /, /g') % before each repeat (waited $quiet_waited s in all for at most $QUIET_MAX %) and $busy_after % after;"
echo "$REPEATS repeats, $((SECONDS - t_begin)) s."
echo
echo "Fleet: hosts of 198.18.0.0/16 in a namespace of their own, one nginx $(nginx -v 2>&1 | sed 's|.*/||') ($WORKERS workers, OpenSSL"
echo "$(openssl version | awk '{ print $2 }')) answering for all of them: TLS on 443 (P-256 leaf from a P-256 CA, TLS 1.3, X25519, tickets on),"
echo "plain TCP on 80. synwatch monitors from the prober namespace, one run and YAML config per row: \`connect\` on :80,"
echo "\`tls\` on :443 with \`ca_file\`, \`verify: true\` and \`sni\`; the SYN and the check share one interval, so every check"
echo "follows a SYN of its own. CPU: utime + stime of the whole synwatch process (/proc/PID/stat: the SYN probes, the"
echo "NDJSON output and every thread included) and of its \`sw-checker\` thread alone, over a window of the run, per"
echo "check that passed with its verdict in the window (every endpoint is healthy: a failure is the prober's own, work"
echo "that gave no check); nginx: its workers' CPU over the same window. blackbox_exporter runs in the"
echo "prober namespace too; curl --parallel asks it for $BB_N probes a repeat over the same first $N hosts; its CPU is per"
echo "/probe request (HTTP serving included), curl's is not counted. Figures: median (minimum) of $REPEATS repeats; CPU in"
echo "seconds per 1000 checks (= ms a check); system time includes the kernel's TCP work on both sides of the veth"
echo "(the target namespace's receive path runs in the sender's context)."
echo
echo "| kind | run | checks/s passed | passed of all | full handshakes % | CPU s / 1000 checks: process | user / sys | checker thread | user / sys | x less than blackbox (process / thread) | x the crypto floor (process / thread) | nginx CPU s / 1000 checks |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
row connect "synwatch, steady: $N hosts every ${IV}s" connect "$bb_c"
for h in "${max_steps[@]}"; do row connect "synwatch, max: $h hosts every 1s, rate 1000000" "cmax-$h" "$bb_c"; done
[ -s "$OUT/bb-connect.txt" ] && bbrow connect tcp_connect bb-connect "–" ""
row tls "synwatch, first checks (full handshakes): $FULL_N hosts every ${FULL_IV}s" full "$bb_t"
row tls "synwatch, steady (default policy: 1 full in 16): $N hosts every ${IV}s, window $T s" tls "$bb_t"
for h in "${max_tls_steps[@]}"; do row tls "synwatch, max: $h hosts every 1s, rate 1000000" "tmax-$h" "$bb_t"; done
[ -s "$OUT/bb-tls.txt" ] && bbrow tls "tls (tcp, tls: true)" bb-tls 100 "$floor_full"
echo "| tls | crypto floor, full handshake: 2 X25519 + 2 P-256 verify | – | – | 100 | $(awk -v f="$floor_full" 'BEGIN { printf "%.3f", f / 1000 }') | | | | | 1 | |"
echo "| tls | crypto floor, resumed (psk_dhe_ke): 2 X25519 | – | – | 0 | $(awk -v f="$floor_res" 'BEGIN { printf "%.3f", f / 1000 }') | | | | | 1 | |"
echo "| tls | crypto floor, 1 full in 16 | – | – | 6.25 | $(awk -v f="$floor_16" 'BEGIN { printf "%.3f", f / 1000 }') | | | | | 1 | |"
echo
# best KIND MODE...: the highest median rate of checks passed among MODEs where
# every check passed in every repeat
best() {
	local kind=$1 mode b="" bm="" r
	shift
	for mode in "$@"; do
		[ -s "$OUT/$mode.txt" ] || continue
		[ "$(field failed < "$OUT/$mode.txt" | sort -g | tail -1)" = 0 ] || continue
		r=$(m "$mode" ok_per_s)
		if [ -z "$b" ] || [ "$r" -gt "$b" ]; then b=$r bm=$mode; fi
	done
	echo "- $kind: ${b:-none} checks/s${bm:+ ($bm)}"
	for mode in "$@"; do
		[ -s "$OUT/$mode.txt" ] || continue
		[ "$(field failed < "$OUT/$mode.txt" | sort -g | tail -1)" = 0 ] && continue
		echo "  - $mode: $(field failed < "$OUT/$mode.txt" | tr '\n' ' ' | sed 's/ $//; s/ /, /g') of $(field n < "$OUT/$mode.txt" | tr '\n' ' ' | sed 's/ $//; s/ /, /g') checks failed in the repeats, $(m "$mode" full_pct 1) % of the handshakes full; first error: $(grep -m1 first_error "$OUT/$mode.txt" | field first_error)"
	done
}
echo "Highest rate of checks with every check passing in every repeat (max steps and the steady run; the checker"
echo "opens at most rate/10 connections a second, 100,000 at rate 1000000), and the steps beyond it:"
echo
best connect connect "${cmax[@]}"
best tls tls "${tmax[@]}"
echo
echo "Where the process's CPU went, per thread (the repeat with the median process figure; µs a check, a SYN in the"
echo "runs without checks; \`synwatch\` is the main thread: the scheduler; the sender's system time holds the"
echo "target namespace's kernel work for the SYNs, the checker's that for its connections):"
echo
for mode in connect "${cmax[@]}" full tls "${tmax[@]}" syn; do
	[ -s "$OUT/$mode.txt" ] || continue
	key=proc_us
	[ "$mode" = syn ] && key=proc_per_syn_us
	echo "- $mode: $(median_line "$mode" "$key" | field threads)"
done
echo
echo "Around the checks, same runs: the connect run's $N hosts without their checks (SYNs alone, ${IV}s) cost the process"
echo "$(mm syn proc_cores 3) cores, $(mm syn proc_per_syn_us) µs a SYN at $(m syn syn_per_s) SYN/s; 5 hosts without checks (idle) $(mm idle proc_cores 3) cores."
echo "The steady rows' process figures include that: per check, the SYN-only run's cost is $(div "$(m syn proc_cores 3)" "$(m connect per_s)" 6 | awk '{ if ($1 == "–") print "–"; else printf "%.3f", $1 * 1000 }') CPU s / 1000 at the"
echo "connect run's rate."
echo
echo "Floor, same run (\`openssl speed -seconds $SPEED_S ecdhx25519 ecdsap256\`, user CPU): X25519 $x25519_us µs, P-256 verify"
echo "$verify_us µs (sign $sign_us µs). A full TLS 1.3 handshake's client crypto: a key pair and a shared secret (X25519"
echo "twice) and two verifications (the CertificateVerify, the leaf's signature): $floor_full µs; a resumed one with"
echo "psk_dhe_ke: X25519 twice, $floor_res µs; the default policy's mix: $floor_16 µs. \"x the crypto floor\" divides by the"
echo "floor of the mix each row did (its share of full handshakes)."
echo
echo "Goals (issue 17), from the medians:"
c_x=$(div "$bb_c" "$(m connect proc_us 1)")
c_xt=$(div "$bb_c" "$(m connect chk_us 1)")
t_x=$(div "$bb_t" "$(m tls proc_us 1)")
t_xt=$(div "$bb_t" "$(m tls chk_us 1)")
t_f=$(div "$(m tls proc_us 1)" "$(floor tls)")
t_ft=$(div "$(m tls chk_us 1)" "$(floor tls)")
met() { # VALUE OP LIMIT
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "–") print "not measured";
		else if ((op == ">=" && v >= l) || (op == "<=" && v <= l)) print "**met**"; else print "**not met**" }'
}
echo "- \`connect\` at least 10 times less CPU per check than blackbox_exporter: the process ${c_x}x ($(met "$c_x" '>=' 10)),"
echo "  the checker thread alone ${c_xt}x ($(met "$c_xt" '>=' 10))."
echo "- \`tls\` at least 4 times less (steady, default policy): the process ${t_x}x ($(met "$t_x" '>=' 4)), the checker"
echo "  thread ${t_xt}x ($(met "$t_xt" '>=' 4))."
echo "- \`tls\` within 2 times of the crypto floor (steady, its mix): the process ${t_f}x ($(met "$t_f" '<=' 2)), the checker"
echo "  thread ${t_ft}x ($(met "$t_ft" '<=' 2))."
echo
echo "Raw runs: $OUT/ (not committed): MODE.txt (one key=value line a repeat), MODE-REP.samples (CPU every"
echo "0.25 s), MODE-REP.checks.ndjson.gz (the check lines). Run alone: bench/checks.sh; in make bench: section \`checks\`."
