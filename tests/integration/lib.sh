# Shared helpers for tests/integration/test_*.sh; source it first:
#   . "$(dirname "$0")/lib.sh"
# Tests run under bash with 'set -u'. run.sh exports SW_BIN (the binaries
# under test) and SW_TOP (the repository); a test started by hand gets
# defaults (build/test if it exists, else build).
#
# Cleanup: every resource a test creates (namespace, fleet, process, temp
# dir) is registered with sw_cleanup_add right after it exists, or before it
# is made when a half-made one can be left (a fleet). The commands run in
# reverse order from one EXIT trap, also after sw_fail, a failed command or a
# signal. Call sw_cleanup_add, sw_tmpdir and sw_fleet_up from the test's own
# shell, not inside $(...) or a pipeline: a subshell's registrations are lost.
#
# Traffic rule: tests send only to 198.18.0.0/15 addresses inside namespaces
# they created, or to 127.0.0.0/8.

SW_TEST=$(basename "$0" .sh)
SW_TOP=${SW_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "${SW_BIN:-}" ]; then
	if [ -d "$SW_TOP/build/test" ]; then SW_BIN=$SW_TOP/build/test; else SW_BIN=$SW_TOP/build; fi
fi
# Debian's python3: scapy and friends belong to it, not to another python3 on PATH
SW_PY=${SW_PY:-/usr/bin/python3}
export SW_TOP SW_BIN SW_PY

SW_CLEANUP=()
SW_CLEANUP_DONE=0

# Runs the registered commands, newest first, once; keeps the exit status.
sw_cleanup_run() {
	local rc=$? i
	[ "$SW_CLEANUP_DONE" -eq 1 ] && return "$rc"
	SW_CLEANUP_DONE=1
	for ((i = ${#SW_CLEANUP[@]} - 1; i >= 0; i--)); do
		# best effort, each one: a script under set -e would otherwise
		# leave at the first that fails (a process already gone) and
		# skip the rest (its redis-server, its namespaces)
		if [ "${SW_VERBOSE:-0}" = 1 ]; then
			echo "cleanup: ${SW_CLEANUP[i]}" >&2
			eval "${SW_CLEANUP[i]}" || true
		else
			eval "${SW_CLEANUP[i]}" > /dev/null 2>&1 || true
		fi
	done
	return "$rc"
}
trap 'sw_cleanup_run' EXIT
# a signal becomes an exit, so that the EXIT trap cleans up
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# sw_cleanup_add "CMD": runs CMD (through eval) when the test exits.
sw_cleanup_add() {
	SW_CLEANUP+=("$1")
}

# sw_fail MSG: "FAIL: test-name: MSG" on stderr, exit 1 (cleanup runs).
sw_fail() {
	echo "FAIL: $SW_TEST: $*" >&2
	exit 1
}

# sw_pass MSG: "ok: MSG".
sw_pass() {
	echo "ok: $*"
}

# sw_info MSG: progress on stderr, "  test-name: MSG".
sw_info() {
	echo "  $SW_TEST: $*" >&2
}

# sw_require_root: fails (does not skip) without root; CI runs as root.
sw_require_root() {
	[ "$(id -u)" -eq 0 ] ||
		sw_fail "needs root (network namespaces, raw sockets, nftables); run as root, as CI does"
}

# sw_require_cmd CMD...: fails naming the first missing program.
sw_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" > /dev/null 2>&1 ||
			sw_fail "'$c' is not installed; install the test packages with: tools/deps.sh test"
	done
}

# sw_require_bin NAME...: fails naming the first program missing from
# $SW_BIN (synwatch, synwatch-top, fleet-responder...).
sw_require_bin() {
	local b
	for b in "$@"; do
		[ -x "$SW_BIN/$b" ] || sw_fail "no $b in '$SW_BIN'; run make $SW_BIN/$b"
	done
}

# sw_unique PREFIX: prints PREFIX and 5 characters of [0-9a-z], different for
# every call and every concurrent run, and not in use as (part of) a
# namespace or interface name. Interface names hold 15 characters: keep
# PREFIX to 3 or fewer ("swt-$id", "swf${id}p" must fit). The first 3
# characters come from the test's pid, the last 2 from the calling
# (sub)shell's pid and $RANDOM.
sw_unique() {
	local prefix=${1:-} digits=0123456789abcdefghijklmnopqrstuvwxyz
	local n id i dev used
	for _ in 1 2 3 4 5 6 7 8; do
		n=$(( ($$ % 46656) * 1296 + (BASHPID + RANDOM) % 1296 ))
		id=
		for i in 1 2 3 4 5; do
			id=${digits:n % 36:1}$id
			n=$((n / 36))
		done
		id=$prefix$id
		used=0
		ip netns list 2> /dev/null | grep -q -- "$id" && used=1
		for dev in /sys/class/net/*"$id"*; do
			[ -e "$dev" ] && used=1
		done
		if [ $used -eq 0 ]; then
			echo "$id"
			return 0
		fi
	done
	sw_fail "sw_unique: no free name for prefix '$prefix'"
}

# sw_tmpdir VAR: makes a temporary directory, removed on exit, into $VAR.
sw_tmpdir() {
	local _sw_d
	_sw_d=$(mktemp -d "${TMPDIR:-/tmp}/sw-$SW_TEST.XXXXXX") || sw_fail "cannot create a temporary directory"
	sw_cleanup_add "rm -rf '$_sw_d'"
	printf -v "$1" '%s' "$_sw_d"
}

# sw_wait_for TIMEOUT CMD...: runs CMD every 50 ms until it succeeds; returns
# 1 if it has not within TIMEOUT seconds (fractions allowed).
sw_wait_for() {
	local timeout=$1
	shift
	local deadline
	deadline=$(($(date +%s%3N) + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')))
	while :; do
		"$@" && return 0
		[ "$(date +%s%3N)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# sw_now_ms: CLOCK_REALTIME in milliseconds.
sw_now_ms() {
	date +%s%3N
}

# sw_pid_alive PID: true if PID runs (a zombie does not count: nobody may
# reap orphans in a container).
sw_pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# sw_ns_add NAME: creates namespace NAME with lo up, removed on exit.
sw_ns_add() {
	sw_cleanup_add "ip netns pids '$1' 2>/dev/null | xargs -r kill -9; ip netns del '$1'"
	ip netns add "$1" || sw_fail "cannot create namespace '$1'"
	ip -n "$1" link set lo up || sw_fail "cannot bring up lo in namespace '$1'"
}

# sw_veth NS1 NS2 NAME ADDR1/LEN ADDR2/LEN: a veth pair between two
# namespaces, vNAME in NS1 with ADDR1 and wNAME in NS2 with ADDR2, both up
# (gone with the namespaces).
sw_veth() {
	ip link add "v$3" netns "$1" type veth peer name "w$3" netns "$2" &&
		ip -n "$1" link set "v$3" up && ip -n "$2" link set "w$3" up &&
		ip -n "$1" addr add "$4" dev "v$3" && ip -n "$2" addr add "$5" dev "w$3" ||
		sw_fail "cannot link namespaces '$1' and '$2'"
}

# sw_fleet ARGS...: tests/fleet/fleet with Debian's python and the responder built
# next to the binaries under test (build/test/fleet-responder for make test).
sw_fleet() {
	SW_FLEET_RESPONDER=${SW_FLEET_RESPONDER:-$SW_BIN/fleet-responder} \
		"$SW_PY" "$SW_TOP/tests/fleet/fleet" "$@"
}

# sw_fleet_up NAME ARGS...: 'fleet up --name NAME ARGS...', with 'fleet down'
# registered first, so that a half-made fleet is removed too. Fails the
# test if the fleet does not come up.
sw_fleet_up() {
	local name=$1
	shift
	[ -x "${SW_FLEET_RESPONDER:-$SW_BIN/fleet-responder}" ] ||
		sw_fail "no fleet-responder in '$SW_BIN'; build it with: make $SW_BIN/fleet-responder"
	sw_cleanup_add "sw_fleet down --name '$name'"
	sw_fleet up --name "$name" "$@" || sw_fail "fleet '$name' did not come up (spec: $*)"
}

# sw_fleet_test PREFIX DIRVAR ARGS...: how a fleet test starts: a private
# directory into $DIRVAR, open to other users (synwatch drops to its own
# user, and writes its spill file there), and a fleet named
# $(sw_unique PREFIX), made by sw_fleet_up with ARGS (--spec, --seed...)
# and its truth table in DIR/truth.tsv. Sets name to the fleet's name, pns
# and tns to its prober's and its targets' namespaces (docs/fleet.md).
# Call it from the test's own shell (see sw_cleanup_add).
sw_fleet_test() {
	local prefix=$1 var=$2
	shift 2
	sw_tmpdir "$var"
	chmod 755 "${!var}"
	name=$(sw_unique "$prefix")
	sw_fleet_up "$name" --truth "${!var}/truth.tsv" "$@"
	pns=swf-$name-p
	tns=swf-$name-t
}

# sw_fleet_late_us NAME: how late, at most, fleet NAME's responder wrote a
# delayed answer (µs, its counters): on a busy machine its scheduling adds
# that much to an RTT, honestly measured on the wire
sw_fleet_late_us() {
	local late
	late=$(sw_fleet status --name "$1" --stats | "$SW_PY" -c '
import json, re, sys
m = re.search(r"late avg [0-9.]+ us, max ([0-9.]+) us", json.load(sys.stdin).get("responder_stats", ""))
print(int(float(m.group(1))) if m else "")')
	[ -n "$late" ] || sw_fail "no lateness in fleet '$1''s responder counters"
	echo "$late"
}

# sw_redis_up DIR [OPTION...] [-- REDIS-SERVER-ARG...]: a private
# redis-server listening on the unix socket DIR/NAME.sock (on no TCP port
# unless --tcp), its log in DIR/NAME.log, its pid in DIR/NAME.pid and its
# data in DIR/NAME/; stopped on exit. Returns once it answers PING. Its URL is
# unix://DIR/NAME.sock. Called again with the same DIR and NAME (after
# sw_redis_kill) it starts again on the same files. Options:
#   --name NAME      NAME, for several servers in one DIR (default: r)
#   --aof FSYNC      keep the data in an append-only file fsynced 'always'
#                    or 'everysec', so that a SIGKILL and a restart keep
#                    what Redis acknowledged (default: no persistence)
#   --tcp PORT       listen on 127.0.0.1:PORT too
#   --netns NS       run it in network namespace NS
#   --ping 'ARGS'    redis-cli arguments PING needs ('-a PW --no-auth-warning')
#   --wait SECONDS   how long it may take to answer (default 5; loading a
#                    large append-only file takes longer)
# Arguments after -- go to redis-server as they are (--requirepass,
# --user, --unixsocketperm 777, --replicaof...).
# Call it from the test's own shell (see sw_cleanup_add).
sw_redis_up() {
	local dir=$1 name=r aof= port=0 ns= ping= wait=5
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--name) name=$2 ;;
		--aof) aof=$2 ;;
		--tcp) port=$2 ;;
		--netns) ns=$2 ;;
		--ping) ping=$2 ;;
		--wait) wait=$2 ;;
		--) shift; break ;;
		*) sw_fail "sw_redis_up: unknown option '$1'" ;;
		esac
		shift 2
	done
	local base=$dir/$name persist=(--appendonly no) in_ns=() listen=(--port 0)
	[ -n "$aof" ] && persist=(--appendonly yes --appendfsync "$aof")
	[ -n "$ns" ] && in_ns=(ip netns exec "$ns")
	[ "$port" != 0 ] && listen=(--port "$port" --bind 127.0.0.1)
	mkdir -p "$base" || sw_fail "cannot create '$base'"
	# a machine set up as docs/operations.md says has a 'synwatch' user, and
	# synwatch run as root drops to it: it must reach the socket
	chmod o+x "$dir" || sw_fail "cannot open '$dir' to other users"
	"${in_ns[@]}" redis-server "${listen[@]}" --unixsocket "$base.sock" --unixsocketperm 777 --save '' \
		"${persist[@]}" --dir "$base" \
		--daemonize yes --pidfile "$base.pid" --logfile "$base.log" "$@" || sw_fail "redis-server $name did not start"
	sw_cleanup_add "sw_redis_stop '$dir' '$name'"
	# shellcheck disable=SC2086
	sw_wait_for "$wait" redis-cli -s "$base.sock" $ping ping > /dev/null 2>&1 ||
		sw_fail "redis-server $name does not answer on $base.sock: $(tail -3 "$base.log")"
}

# sw_redis_pid DIR [NAME]: the pid of the server sw_redis_up started.
sw_redis_pid() {
	cat "$1/${2:-r}.pid" 2> /dev/null
}

# sw_redis_kill DIR [NAME]: SIGKILLs the server sw_redis_up started (a
# crash: what it did not write is lost) and returns once it is gone.
sw_redis_kill() {
	local pid
	pid=$(sw_redis_pid "$@") || sw_fail "sw_redis_kill: no redis-server ${2:-r} in $1"
	kill -9 "$pid" 2> /dev/null
	sw_wait_for 5 eval "! sw_pid_alive $pid" || sw_fail "redis-server ${2:-r} ($pid) survived SIGKILL"
}

# sw_redis_stop DIR [NAME]: stops it (SIGTERM) and waits up to 5 s until it
# is gone, so that its directory can be removed.
sw_redis_stop() {
	local pid
	pid=$(sw_redis_pid "$@") || return 0
	kill "$pid" 2> /dev/null || return 0
	sw_wait_for 5 eval "! sw_pid_alive $pid"
}

# sw_exporter_up LOG BASEVAR ARG...: synwatch-exporter ARG... listening on
# a free port of 127.0.0.1, its output in LOG, stopped on exit. Returns
# once it listens, with http://127.0.0.1:PORT in $BASEVAR and its pid in
# SW_EXPORTER_PID. Call it from the test's own shell.
sw_exporter_up() {
	local log=$1 var=$2
	shift 2
	"$SW_BIN/synwatch-exporter" "$@" --listen 127.0.0.1:0 > "$log" 2>&1 &
	SW_EXPORTER_PID=$!
	sw_cleanup_add "kill $SW_EXPORTER_PID 2>/dev/null"
	sw_wait_for 10 grep -q "listening on" "$log" || sw_fail "exporter did not start: $(cat "$log")"
	printf -v "$var" '%s' "$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)"
}
