#!/bin/bash
# The benchmark behind 'make bench' (which first installs the bench packages
# with tools/deps.sh and builds build/synwatch and build/fleet-responder).
# Runs as root, on this machine only: every probe goes to 198.18.0.0/15
# addresses inside test fleets (tests/fleet/fleet) that this script makes and
# removes again, also on failure or Ctrl-C.
#
#   1. throughput and accuracy: synwatch, zmap and masscan over the same
#      131 068 endpoints (port 80 open and port 81 closed on each of the 65 534
#      hosts of 198.18.0.0/16) at rising rates, plus the kernel ceiling (a bare
#      sendmmsg loop, bench/sendmmsg_ceiling.c, on a raw IP socket and on a
#      packet socket) in the same run
#   2. CPU cost per million probes at the same rate
#   3. RTT accuracy: synwatch's rtt_us against an independent tcpdump capture
#      of the same link, slow endpoints against their programmed delay, and
#      hping3 / nping next to synwatch on a few slow endpoints
#   rate: --rate on the wire (veth tx_packets) over 1-second windows (bench/bench-rate.sh)
#   4. monitoring 1,048,576 targets on a 10 s interval with Redis (bench/bench-monitor.sh)
#   5. the Redis store alone (build/redis-bench), then while probing the
#      cheapest endpoints as fast as the machine goes (bench/bench-store.sh)
#   checks: service checks per second and CPU per check, connect and tls,
#      synwatch beside blackbox_exporter on the same endpoints (nginx in a
#      fleet) and the handshake's crypto floor (bench/checks.sh, about 6
#      minutes; alone, without touching bench/results.md: bench/checks.sh)
#   soak: BENCH_SOAK_MINUTES (default 30, 0: none) of monitoring with a Redis
#      restart in the middle (bench/soak.sh)
#   tls (not in the default set): client CPU per TLS handshake of OpenSSL,
#      GnuTLS, wolfSSL and Mbed TLS against nginx on 127.0.0.1, beside
#      openssl speed and blackbox_exporter (bench/tls.sh, about 5 minutes;
#      alone, without touching bench/results.md: bench/tls.sh)
#   checker-tls (not in the default set): synwatch's checker's CPU per tls
#      check with each TLS backend, full handshakes and the default policy
#      (bench/checker-tls.sh, about a minute; alone: bench/checker-tls.sh)
#
# Writes bench/results.md and bench/*.png (small, meant to be committed) and
# the raw data under bench/out/ (ignored by git). Takes about 17 minutes
# plus the soak (about 48 in all on 2026-12-06) and the checks (about 6),
# up to 7 more while it waits for other work on the machine to calm down.
#
# Environment: BENCH_RATES (default "25000 50000 100000 150000 200000 300000
# max"), BENCH_REPEATS (default 3), BENCH_CPU_RATE (default 100000; must be
# one of the rates), BENCH_TIMEOUT (seconds per tool run, default 120),
# BENCH_QUIET_MAX (default 15) and BENCH_QUIET_BUDGET (default 300): before
# each run, wait until other work keeps the machine at most that % busy, for
# at most that many seconds in all. BENCH_SECTIONS (default "1 3 rate 4 5 checks soak"; add
# tls and checker-tls for the TLS benchmarks, exporter for synwatch-exporter's /metrics of
# BENCH_EXPORTER_TARGETS targets, default 1000000: about 5 minutes and 2 GB) picks the sections to run; without section 1, section 3 scans at BENCH_S3_RATE
# (default 35000). BENCH_TOOLS (default "synwatch zmap masscan") picks
# section 1's tools (synwatch alone, to compare two builds with SW_BIN).
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# the release build, not the sanitizer one that tests/integration/lib.sh prefers
. "$top/bench/lib.sh"

RATES=${BENCH_RATES:-25000 50000 100000 150000 200000 300000 max}
REPEATS=${BENCH_REPEATS:-3}
CPU_RATE=${BENCH_CPU_RATE:-100000}
TMO=${BENCH_TIMEOUT:-120}
SECTIONS=${BENCH_SECTIONS:-1 3 rate 4 5 checks soak}
TOOLS=${BENCH_TOOLS:-synwatch zmap masscan}
S3_RATE=${BENCH_S3_RATE:-}
QUIET_MAX=${BENCH_QUIET_MAX:-15}
QUIET_BUDGET=${BENCH_QUIET_BUDGET:-300}
quiet_waited=0
MAX_RATE=100000000 # what "max" asks each tool for
PY=/usr/bin/python3
OUT=$top/bench/out
ANALYZE="$PY $top/bench/analyze.py"

log() {
	echo "bench: $*" >&2
}

sw_require_root
sw_require_cmd zmap masscan tcpdump gnuplot hping3 nping cc ip nft timeout
[ -x /usr/bin/time ] || sw_fail "/usr/bin/time is not installed; install the bench packages with: tools/deps.sh bench"
[ -x "$PY" ] || sw_fail "$PY is missing (Debian's python3)"
for b in synwatch fleet-responder; do
	[ -x "$SW_BIN/$b" ] || sw_fail "no '$SW_BIN/$b'; build it with: make programs"
done

case " $RATES " in *" $CPU_RATE "*) ;; *) sw_fail "BENCH_CPU_RATE '$CPU_RATE' is not one of BENCH_RATES '$RATES'" ;; esac

t_start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT"/s1 "$OUT"/ceiling "$OUT"/s3 "$OUT"/bin || sw_fail "cannot create '$OUT'"
echo "$CPU_RATE" > "$OUT/cpu_rate.txt"

# Others rebuild build/ while this runs: measure one fixed copy.
cp "$SW_BIN/synwatch" "$SW_BIN/fleet-responder" "$OUT/bin/" || sw_fail "cannot copy the binaries"
SYNWATCH=$OUT/bin/synwatch
export SW_FLEET_RESPONDER=$OUT/bin/fleet-responder
for p in sendmmsg_ceiling txsample; do
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wformat=2 -Wvla -o "$OUT/bin/$p" "$top/bench/$p.c" ||
		sw_fail "cannot build bench/$p.c"
done
CEILING=$OUT/bin/sendmmsg_ceiling
TXSAMPLE=$OUT/bin/txsample

# ------------------------------------------------------------------ machine

# cpu_busy [SECONDS]: percent of all CPUs busy over SECONDS (default 1),
# everything on the machine: other work here skews every figure, so the
# report says how much
cpu_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep "${1:-1}"
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}

# the busiest other processes, for the report
top_procs() {
	ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 5 { printf "%s%s %s%%", sep, $2, $1; sep = ", " }'
}

busy_before=$(cpu_busy)
[ "$busy_before" -gt 10 ] &&
	log "warning: the machine is already $busy_before % busy ($(top_procs)); the figures will be skewed"
{
	busiest=$(top_procs)
	echo "busy_before	$busy_before % of all CPUs busy in the second before the run${busiest:+ (busiest by ps %CPU: $busiest)}"
	echo "nproc	$(nproc)"
	echo "cpu	$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel	$(uname -r)"
	echo "os	$(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME")"
	echo "memory	$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "synwatch	$(git -C "$top" describe --always --dirty 2> /dev/null || echo unknown) (release build, sha256 $(sha256sum "$SYNWATCH" | cut -c1-12))"
	echo "zmap	$(zmap --version 2>&1 | head -1)"
	echo "masscan	$(masscan --version 2>&1 | grep -m1 -o 'version [0-9.]*')"
	echo "hping3	$(dpkg-query -W -f='${Version}' hping3 2> /dev/null)"
	echo "nping	$(nping --version 2>&1 | grep -m1 -o 'version [0-9.]*')"
	echo "tcpdump	$(tcpdump --version 2>&1 | head -1)"
} > "$OUT/machine.tsv"

# ------------------------------------------------------------------ helpers

# Fleet names, namespaces and interfaces (docs/fleet.md).
fleet_vars() {
	pns=swf-$1-p
	pif=swf${1}p
	tns=swf-$1-t
	tif=swf${1}t
	prober_ip=198.19.255.1
	prober_mac=02:53:57:46:00:01
	gw_ip=198.19.255.2
	gw_mac=02:53:57:46:00:02
}

# inp CMD...: runs CMD in the fleet's prober namespace. Every command that
# sends anything goes through here: outside the namespace the fleet
# addresses would be routed off the machine.
inp() {
	ip netns exec "$pns" "$@"
}

# The prober namespace must route nothing but through the fleet's veth, and
# hold no other interface: then a default route there (masscan wants one)
# leads only into the fleet.
check_prober_ns() {
	local links routes
	links=$(ip -n "$pns" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
	[ "$links" = "lo $pif " ] || sw_fail "prober namespace '$pns' has interfaces '$links', expected 'lo $pif'"
	routes=$(ip -n "$pns" route show)
	if echo "$routes" | grep -v " dev $pif " | grep -q .; then
		sw_fail "prober namespace '$pns' routes through something other than $pif: $routes"
	fi
}

# link_counters: one line, both ends of the fleet's veth: prober rx
# packets, rx dropped; target tx packets, tx dropped, rx packets, rx dropped.
link_counters() {
	{
		ip netns exec "$pns" sh -c "cd /sys/class/net/$pif/statistics && cat rx_packets rx_dropped"
		ip netns exec "$tns" sh -c "cd /sys/class/net/$tif/statistics && cat tx_packets tx_dropped rx_packets rx_dropped"
	} | tr '\n' ' '
	echo
}

# start_sampler PREFIX: the send phase, timed on the wire for every prober
# alike. The fleet's kernel answers each SYN at once with one packet (a
# SYN-ACK or a RST) and nothing else (a reset of a SYN-ACK gets no answer),
# so the target side's tx_packets climbs with the SYNs arriving; PREFIX.tx
# gets the samples, PREFIX.links the counters of both ends before and after,
# PREFIX.cpu the machine's CPU times (other work on the machine shows there).
# wait_quiet PREFIX: the machine is shared (builds, tests); before each
# measured run wait until it is at most QUIET_MAX % busy, within a total
# budget of QUIET_BUDGET seconds for the whole benchmark, and keep the
# busy share seen last in PREFIX.pre for the report.
wait_quiet() {
	local b t0=$SECONDS
	while :; do
		b=$(cpu_busy 0.5)
		[ "$b" -le "$QUIET_MAX" ] && break
		[ $((quiet_waited + SECONDS - t0)) -ge "$QUIET_BUDGET" ] && break
	done
	quiet_waited=$((quiet_waited + SECONDS - t0))
	echo "$b" > "$1.pre"
}

start_sampler() {
	sampler_prefix=$1
	wait_quiet "$1"
	link_counters > "$1.links"
	grep '^cpu ' /proc/stat > "$1.cpu"
	# not through inp: a backgrounded function is a subshell, and $! would
	# be that subshell rather than the program
	ip netns exec "$tns" "$TXSAMPLE" "$tif" 1000 > "$1.tx" &
	sampler_pid=$!
	sleep 0.05
}

# stop_sampler: after the replies to the last probes have arrived.
stop_sampler() {
	sleep 0.3
	kill "$sampler_pid" 2> /dev/null
	wait "$sampler_pid" 2> /dev/null
	sampler_pid=
	link_counters >> "$sampler_prefix.links"
	grep '^cpu ' /proc/stat >> "$sampler_prefix.cpu"
}

# bounded RUNID CMD...: CMD in the prober namespace under /usr/bin/time and
# timeout(1); stdout, stderr and the times go to $OUT/s1/RUNID.*
bounded() {
	local id=$1 rc
	shift
	inp timeout -k 5 "$TMO" /usr/bin/time -f "%U %S %e" -o "$dir/$id.time" "$@" \
		> "$dir/$id.out" 2> "$dir/$id.err"
	rc=$?
	[ $rc -eq 124 ] && log "$id: timed out after $TMO s"
	echo "$rc" > "$dir/$id.rc"
	return 0
}

# Background helpers still running at exit (a failure half-way) are
# stopped by their recorded pid, and only while it is recorded.
sampler_pid='' poke_pid='' tcpdump_pid=''
# shellcheck disable=SC2016 # expanded when the cleanup runs
kill_helpers='for p in $sampler_pid $poke_pid $tcpdump_pid; do kill "$p"; done'

# what synwatch's capture passes (capture/): our SYNs leaving, every reply
# to our source ports; the kernel's resets of SYN-ACKs are left out
SW_FILTER='tcp and ((tcp[13] == 2 and src portrange 61000-61999) or dst portrange 61000-61999)'

rate_arg() {
	if [ "$1" = max ]; then echo "$MAX_RATE"; else echo "$1"; fi
}

run_synwatch() { # RUNID RATE TARGETS
	start_sampler "$dir/$1"
	bounded "$1" "$SYNWATCH" --once -T "$3" --rate "$(rate_arg "$2")" --timeout 1s --retries 0 --output ndjson
	stop_sampler
}

run_zmap() { # RUNID RATE: one port per zmap 2.1.1 run, so two runs
	local port
	for port in 80 81; do
		start_sampler "$dir/$1-$port"
		bounded "$1-$port" zmap -p "$port" -r "$(rate_arg "$2")" -c 1 -i "$pif" -G "$gw_mac" -S "$prober_ip" \
			-b "$dir/zmap-blocklist.txt" -M tcp_synscan -O csv \
			-f saddr,sport,classification,repeat,timestamp-ts,timestamp-us \
			--output-filter "success = 0 || success = 1" --disable-syslog \
			-m "$dir/$1-$port.meta.json" -o - 198.18.0.0/16
		stop_sampler
	done
}

run_masscan() { # RUNID RATE
	check_prober_ns
	ip -n "$pns" route add default via "$gw_ip" dev "$pif" || sw_fail "cannot add masscan's default route"
	check_prober_ns
	# masscan 1.3.2's receive thread only notices the end of the scan when
	# a packet arrives: without traffic it waits far past --wait ("waiting
	# -N-secs"). A datagram to the fleet's gateway every 200 ms (answered
	# with an ICMP port unreachable) ends it on time.
	ip netns exec "$pns" bash -c "while :; do echo x > /dev/udp/$gw_ip/9; sleep 0.2; done" 2> /dev/null &
	poke_pid=$!
	start_sampler "$dir/$1"
	bounded "$1" masscan 198.18.0.0/16 --exclude 198.18.0.0,198.18.255.255 -p80,81 --show closed \
		--rate "$(rate_arg "$2")" --wait 1 --adapter "$pif" --adapter-ip "$prober_ip" \
		--adapter-mac "$prober_mac" --router-mac "$gw_mac" -oL "$dir/$1.lst"
	stop_sampler
	kill "$poke_pid" 2> /dev/null
	wait "$poke_pid" 2> /dev/null
	poke_pid=
	ip -n "$pns" route del default || sw_fail "cannot remove masscan's default route"
}

want_section() {
	case " $SECTIONS " in *" $1 "*) return 0 ;; esac
	return 1
}

# ------------------------------------------------------------------ 1 + 2: throughput, accuracy, CPU

section_1() {
	f1=$(sw_unique bt)
	fleet_vars "$f1"
	log "section 1: fleet '$f1': 65534 hosts of 198.18.0.0/16, port 80 open, port 81 closed"
	sw_fleet_up "$f1" --spec 'open=65534,ports=80,layout=dense,default=closed' --truth "$OUT/s1/truth.tsv"
	sw_cleanup_add "$kill_helpers" # before the fleet goes
	check_prober_ns
	dir=$OUT/s1
	# port 80 open on every host (the truth); port 81 is the fleet's default: closed
	awk 'NR > 1 { print $1 ":80"; print $1 ":81" }' "$dir/truth.tsv" > "$dir/targets.txt"
	awk -F: '$2 == 80' "$dir/targets.txt" > "$dir/targets-80.txt"
	awk -F: '$2 == 81' "$dir/targets.txt" > "$dir/targets-81.txt"
	# the network and broadcast addresses are no fleet endpoints
	printf '198.18.0.0/32\n198.18.255.255/32\n' > "$dir/zmap-blocklist.txt"
	[ "$(wc -l < "$dir/targets.txt")" -eq 131068 ] || sw_fail "expected 131068 endpoints, got $(wc -l < "$dir/targets.txt")"

	# a warm-up, not counted: first-run costs (page cache, neighbour entry, SYN queues)
	inp timeout -k 5 "$TMO" "$SYNWATCH" --once -T "$dir/targets.txt" --rate 50000 --timeout 1s --retries 0 \
		--output none > /dev/null 2>&1

	read -ra tools <<< "$TOOLS"
	: > "$dir/runs.jsonl"
	: > "$OUT/ceiling/runs.jsonl"
	for ((rep = 1; rep <= REPEATS; rep++)); do
		log "section 1: repeat $rep of $REPEATS (rates: $RATES)"
		# The kernel ceiling in the same run: all endpoints through a raw
		# IP socket and as Ethernet frames on a packet socket (synwatch's
		# link path, zmap's way), only open, only closed ones; then all
		# again while tcpdump captures what synwatch's filter passes (our
		# SYNs leaving and the replies, immediate mode), to show what a
		# capture costs the sender (its softirq work runs there).
		for set in all link 80 81 cap; do
			id=ceiling-$set-$rep
			link=()
			case $set in
			all | cap) tf=$dir/targets.txt ;;
			link) tf=$dir/targets.txt link=(-l "$pif,$gw_mac") ;;
			*) tf=$dir/targets-$set.txt ;;
			esac
			if [ "$set" = cap ]; then
				ip netns exec "$pns" tcpdump -i "$pif" --immediate-mode -j host --time-stamp-precision nano \
					-s 256 -B 65536 -Z root -n -w /dev/null "$SW_FILTER" 2> "$OUT/ceiling/$id.tcpdump" &
				tcpdump_pid=$!
				sw_wait_for 10 grep -q "listening on" "$OUT/ceiling/$id.tcpdump" || sw_fail "tcpdump did not start"
			fi
			start_sampler "$OUT/ceiling/$id"
			inp timeout -k 5 "$TMO" "$CEILING" -s "$prober_ip" -t "$tf" "${link[@]}" > "$OUT/ceiling/$id.out" \
				2> "$OUT/ceiling/$id.err"
			echo $? > "$OUT/ceiling/$id.rc"
			stop_sampler
			if [ "$set" = cap ]; then
				kill "$tcpdump_pid" 2> /dev/null
				wait "$tcpdump_pid" 2> /dev/null
				tcpdump_pid=
			fi
			$ANALYZE ceiling "$OUT/ceiling" "$id" "$set" "$rep" >> "$OUT/ceiling/runs.jsonl" ||
				sw_fail "cannot analyse $id"
		done
		for rate in $RATES; do
			# the order rotates with the repeat, so no tool always goes first
			for ((k = 0; k < ${#tools[@]}; k++)); do
				tool=${tools[(k + rep - 1) % ${#tools[@]}]}
				id=$tool-$rate-$rep
				case $tool in
				synwatch) run_synwatch "$id" "$rate" "$dir/targets.txt" ;;
				zmap) run_zmap "$id" "$rate" ;;
				masscan) run_masscan "$id" "$rate" ;;
				esac
				$ANALYZE run "$dir" "$tool" "$id" "$rate" "$rep" >> "$dir/runs.jsonl" || sw_fail "cannot analyse $id"
				$ANALYZE progress "$dir/runs.jsonl" >&2
				# the raw outputs are large: keep them compressed
				gzip -1 -f "$dir/$id"*.out 2> /dev/null
				[ -f "$dir/$id.lst" ] && gzip -1 -f "$dir/$id.lst"
			done
		done
	done
	sw_fleet down --name "$f1" > /dev/null 2>&1
}

# ------------------------------------------------------------------ 3: RTT accuracy

section_3() {
	f3=$(sw_unique br)
	fleet_vars "$f3"
	dir=$OUT/s3
	log "section 3: fleet '$f3': kernel-open endpoints and slow ones behind the responder"
	sw_fleet_up "$f3" --spec 'open=60000,slow=500@fixed:1ms,slow=500@fixed:5ms,slow=500@fixed:20ms,slow=500@fixed:50ms,ports=80' \
		--truth "$dir/truth.tsv" --seed 3
	sw_cleanup_add "$kill_helpers"
	check_prober_ns
	awk 'NR > 1 { print $1 ":" $2 }' "$dir/truth.tsv" > "$dir/targets.txt"
	if [ -n "$S3_RATE" ] || ! want_section 1; then
		half=${S3_RATE:-35000}
	else
		half=$($ANALYZE halfmax "$OUT/s1/runs.jsonl") || sw_fail "no synwatch maximum rate from section 1"
	fi
	log "section 3: synwatch at $half probes/s (about half its maximum), tcpdump on $pif"

	# Our SYNs leaving and every reply to our port range; not the kernel's
	# RSTs. Immediate mode: tcpdump stopped by a signal drops what it has not
	# read yet, and a block-buffered capture holds up to a block's worth.
	ip netns exec "$pns" tcpdump -i "$pif" --immediate-mode -j host --time-stamp-precision nano -s 128 -B 262144 -Z root \
		-n -w "$dir/tcpdump.pcap" "$SW_FILTER" 2> "$dir/tcpdump.err" &
	tcpdump_pid=$!
	sw_wait_for 10 grep -q "listening on" "$dir/tcpdump.err" || sw_fail "tcpdump did not start: $(cat "$dir/tcpdump.err")"
	wait_quiet "$dir/scan"
	grep '^cpu ' /proc/stat > "$dir/scan.cpu"
	inp timeout -k 5 "$TMO" "$SYNWATCH" --once -T "$dir/targets.txt" --rate "$half" --timeout 1s --retries 0 \
		--output ndjson > "$dir/synwatch.ndjson" 2> "$dir/synwatch.err"
	echo $? > "$dir/synwatch.rc"
	grep '^cpu ' /proc/stat >> "$dir/scan.cpu"
	sleep 1
	kill "$tcpdump_pid" 2> /dev/null
	wait "$tcpdump_pid" 2> /dev/null
	tcpdump_pid=
	cat "$dir/synwatch.err" >&2
	grep -E "captured|dropped" "$dir/tcpdump.err" >&2

	# a handful of slow endpoints, two per delay, probed three times by each tool
	$PY - "$dir/truth.tsv" > "$dir/handful.txt" <<- 'EOF'
	import sys
	seen = {}
	for line in open(sys.argv[1]):
	    f = line.rstrip("\n").split("\t")
	    if f[2] == "slow" and len(seen.setdefault(f[4], [])) < 2:
	        seen[f[4]].append(f"{f[0]}:{f[1]}")
	for eps in seen.values():
	    print("\n".join(eps))
	EOF
	log "section 3: hping3, nping and synwatch on $(wc -l < "$dir/handful.txt") slow endpoints"
	for i in 1 2 3; do
		inp timeout -k 5 30 "$SYNWATCH" --once -T "$dir/handful.txt" --rate 100 --timeout 1s --retries 0 \
			--output ndjson > "$dir/handful-synwatch-$i.ndjson" 2> /dev/null
	done
	while IFS=: read -r ip port; do
		inp timeout -k 5 30 hping3 -S -p "$port" -c 3 -i u200000 "$ip" > "$dir/hping3-$ip-$port.txt" 2>&1
		inp timeout -k 5 30 nping --tcp -p "$port" -c 3 --delay 200ms "$ip" > "$dir/nping-$ip-$port.txt" 2>&1
	done < "$dir/handful.txt"
	$ANALYZE rtt "$dir" > "$dir/rtt.json" || sw_fail "cannot analyse the RTT capture"
	sw_fleet down --name "$f3" > /dev/null 2>&1
}

want_section 1 && section_1
want_section 3 && section_3

# ------------------------------------------------------------------ rate, 4, 5, checks, soak

# each writes a markdown section that the report includes as it is
if want_section rate; then
	log "rate accuracy: --rate held over 1-second windows"
	TXSAMPLE=$TXSAMPLE SW_BIN=$(dirname "$SYNWATCH") "$top/bench/bench-rate.sh" > "$OUT/rate.md" || log "rate accuracy failed"
fi
if want_section 4; then
	log "section 4: monitoring 1,048,576 targets with Redis"
	SW_BIN=$(dirname "$SYNWATCH") BENCH_OUT=$OUT "$top/bench/bench-monitor.sh" > "$OUT/s4.md" || log "section 4 failed"
fi
if want_section 5; then
	log "section 5: the Redis store alone, then while probing"
	"$top/build/redis-bench" --results 2000000 --targets 10000 --rate 200000 > "$OUT/s5.log" 2>&1 ||
		log "section 5 failed: $(tail -2 "$OUT/s5.log")"
	SW_BIN=$(dirname "$SYNWATCH") BENCH_OUT=$OUT "$top/bench/bench-store.sh" > "$OUT/s5b.md" 2> "$OUT/s5b.log" ||
		log "section 5, while probing, failed: $(tail -2 "$OUT/s5b.log")"
	{
		echo "## 5. Redis store throughput"
		echo
		echo "bench/redis-bench.c pushes 2,000,000 synthetic results for 10,000 targets, paced at 200,000/s, through"
		echo "the store thread, the backlog and the Redis writer (the daemon's code) into a private redis-server on a"
		echo "unix socket. Target: at least 200,000 results/s with no growth of the backlog."
		echo
		echo '```'
		grep -v ' info: ' "$OUT/s5.log"
		echo '```'
		echo
		cat "$OUT/s5b.md"
	} > "$OUT/s5.md"
fi
if want_section checks; then
	log "checks: service checks, connect and tls, beside blackbox_exporter and the crypto floor (bench/checks.sh)"
	SW_BIN=$(dirname "$SYNWATCH") CHECKS_OUT=$OUT/checks "$top/bench/checks.sh" > "$OUT/checks.md" ||
		log "the checks section failed"
fi
if want_section soak && [ "${BENCH_SOAK_MINUTES:-30}" -gt 0 ]; then
	log "soak: ${BENCH_SOAK_MINUTES:-30} min of monitoring with a Redis restart in the middle"
	SW_BIN=$(dirname "$SYNWATCH") SOAK_OUT=$OUT/soak "$top/bench/soak.sh" "${BENCH_SOAK_MINUTES:-30}" > "$OUT/soak.md" ||
		log "the soak failed"
fi

if want_section tls; then
	log "tls: CPU per TLS handshake of each TLS library (bench/tls.sh)"
	TLS_OUT=$OUT/tls "$top/bench/tls.sh" > "$OUT/tls.md" || log "the tls section failed"
fi
if want_section exporter; then
	n=${BENCH_EXPORTER_TARGETS:-1000000}
	log "exporter: /metrics of $n targets, with the defaults and with every target's series (bench/exporter.sh)"
	{
		echo "## synwatch-exporter: /metrics with the defaults and with every target"
		echo
		echo "\`SW_SCRAPES=5 bench/exporter.sh $n 1\`: $n targets in one location (3 groups), Redis on a unix socket."
		SW_SCRAPES=5 "$top/bench/exporter.sh" "$n" 1 # build/synwatch-exporter
	} > "$OUT/exporter.md" || log "the exporter section failed"
fi
if want_section checker-tls; then
	log "checker-tls: the checker's CPU per tls check with each TLS backend (bench/checker-tls.sh)"
	CTLS_OUT=$OUT/checker-tls "$top/bench/checker-tls.sh" > "$OUT/checker-tls.md" ||
		log "the checker-tls section failed"
fi

# ------------------------------------------------------------------ report

echo "$(($(date +%s) - t_start))" > "$OUT/elapsed.txt"
echo "$quiet_waited" > "$OUT/quiet_waited.txt"
echo "$QUIET_MAX" > "$OUT/quiet_max.txt"
busiest=$(top_procs)
echo "busy_after	$(cpu_busy) % of all CPUs busy in the second after the run${busiest:+ (busiest by ps %CPU: $busiest)}" >> "$OUT/machine.tsv"
$ANALYZE report "$OUT" "$top/bench" || sw_fail "cannot write the report"
(cd "$OUT" && gnuplot plots.gp) || sw_fail "gnuplot failed"
log "wrote $top/bench/results.md, the plots bench/*.png and raw data in $OUT ($(($(date +%s) - t_start)) s)"
grep -A3 '^## The figure' "$top/bench/results.md" | sed -n '3p' >&2
