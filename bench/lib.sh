# shellcheck shell=bash
# Shared by the benchmark scripts (bench/bench.sh, bench/bench-monitor.sh,
# bench/bench-store.sh, bench/soak.sh, bench/exporter.sh, and the TLS ones:
# bench/tls.sh, bench/checker-tls.sh, bench/checks.sh); source it first. It brings tests/integration/lib.sh (cleanup on exit, fleets,
# private directories, a private redis-server; SW_BIN defaults to the
# release build here) and the measurements those scripts share.
SW_TOP=${SW_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SW_BIN=${SW_BIN:-$SW_TOP/build}
. "$SW_TOP/tests/integration/lib.sh"

# bench_setup OUT PREFIX: what a fleet benchmark with Redis starts with:
# root, redis-server, redis-cli and ip, its output directory OUT, a private
# directory in $dir and a fresh fleet name in $name (sw_unique PREFIX).
bench_setup() {
	sw_require_root
	sw_require_cmd redis-server redis-cli ip
	mkdir -p "$1" || sw_fail "cannot create '$1'"
	name=$(sw_unique "$2")
	sw_tmpdir dir
}

# bench_out OUT [GLOB...]: the output directory OUT, emptied of what a run
# before left there (*.txt and each GLOB), and a private directory in $tmp
bench_out() {
	local out=$1 g
	shift
	mkdir -p "$out" || sw_fail "cannot create '$out'"
	rm -f "$out"/*.txt
	for g in "$@"; do
		# shellcheck disable=SC2086 # g is a glob to expand
		rm -f "$out"/$g
	done
	# shellcheck disable=SC2034 # the caller's
	tmp=""
	sw_tmpdir tmp
}

# log MESSAGE...: a line on stderr naming the script (a script may define
# its own)
log() {
	echo "${0##*/}: $*" >&2
}

# cpu_ticks PID: user + system CPU time of a process, all its threads, in
# clock ticks (getconf CLK_TCK); 0 once it is gone
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null || echo 0
}

# busy_ticks: the machine's busy time (user, nice, system, irq, softirq),
# all CPUs, in clock ticks
busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# rss_kb PID: resident memory in kB; 0 once it is gone
rss_kb() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2> /dev/null || echo 0
}

# results_added SOCKET: entries ever added to synwatch:results of the
# redis-server on unix socket SOCKET. XLEN stops growing at results_maxlen
# (MAXLEN ~); this counter (Redis 7) does not.
results_added() {
	redis-cli -s "$1" --raw XINFO STREAM synwatch:results | awk 'p { print; exit } /^entries-added$/ { p = 1 }'
}
