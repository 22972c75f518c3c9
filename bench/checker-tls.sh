#!/bin/bash
# The checker's own CPU per tls check with each TLS backend, side by side in
# one run: synwatch's engine/checker.c with engine/tls-gnutls.c and with
# engine/tls-openssl.c (bench/checker-tls.c, built by make as
# build/bench-BACKEND/checker-tls with TLS_BACKEND=BACKEND), checking nginx
# on 127.0.0.1 (bench/tls-bench.sh: P-256 leaf from a P-256 CA, chain and
# name verified) as 64 targets, N checks a run: full handshakes only
# (full_every 1), then the checker's default policy (a full handshake every
# 16th check of a target, the rest resumed).
#
# usage: bench/checker-tls.sh > checker-tls.md
# Prints a markdown section; the raw lines go to $CTLS_OUT (default
# bench/out/checker-tls). About a minute on 2 cores, plus the builds.
# Environment: CTLS_N (1000 checks a run), CTLS_TARGETS (64, also the
# checks in flight), CTLS_REPEATS (3; the figure is the median, the minimum
# beside it), CTLS_BACKENDS ("gnutls openssl"), CTLS_QUIET_MAX (30) and
# CTLS_QUIET_BUDGET (120): before each repeat, wait until other work keeps
# the machine at most that % busy, for at most that many seconds in all.
# Nothing leaves 127.0.0.0/8.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/bench/lib.sh"
. "$top/bench/tls-bench.sh"

N=${CTLS_N:-1000}
TARGETS=${CTLS_TARGETS:-64}
REPEATS=${CTLS_REPEATS:-3}
BACKENDS=${CTLS_BACKENDS:-gnutls openssl}
QUIET_MAX=${CTLS_QUIET_MAX:-30}
QUIET_BUDGET=${CTLS_QUIET_BUDGET:-120}
OUT=${CTLS_OUT:-$top/bench/out/checker-tls}
NAME=tls.synwatch.test

sw_require_cmd make cc openssl nginx ss awk
bench_out "$OUT"

# one build directory per backend, beside the normal build
build_checker() {
	make -C "$top" -j2 B="build/bench-$1" TLS_BACKEND="$1" "build/bench-$1/checker-tls"
}
# shellcheck disable=SC2086 # a list
build_each checker "tools/deps.sh build; libssl-dev for openssl" build_checker $BACKENDS

tls_server_up "$tmp" "$NAME"

# run BACKEND MODE FULL_EVERY: one run, its line appended to $OUT/BACKEND-MODE.txt
run() {
	local line
	line=$(timeout 300 "$top/build/bench-$1/checker-tls" -p "$port" -C "$tmp/ca.pem" -s "$NAME" -n "$N" \
		-t "$TARGETS" -f "$3" -b "$1" 2> "$tmp/err")
	if [ -z "$line" ]; then
		log "$1 $2 failed: $(head -3 "$tmp/err")"
		return 1
	fi
	echo "$line" >> "$OUT/$1-$2.txt"
	case $line in *" failed=0 "*) ;; *) log "$1 $2: some checks failed: $(echo "$line" | field first_error)" ;; esac
}

log "nginx on 127.0.0.1:$port; backends: $built; $REPEATS repeats of $N checks"
busy_before=$(busy)
rm -f "$OUT/busy.txt"
for rep in $(seq "$REPEATS"); do
	wait_quiet
	# the order rotates with the repeat: no backend always follows the same one
	order=$(echo "$built" | awk -v r="$rep" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
	for b in $order; do
		run "$b" full 1
		run "$b" policy 0
	done
done
busy_after=$(busy)

libversion() {
	case $1 in
	gnutls) echo "GnuTLS $(pkg-config --modversion gnutls)" ;;
	openssl) echo "OpenSSL $(pkg-config --modversion openssl)" ;;
	*) echo "$1" ;;
	esac
}

echo "## The checker's CPU per tls check, per TLS backend (bench/checker-tls.sh)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),"
echo "$(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME"), kernel $(uname -r); other work kept the machine $busy_before % busy"
echo "before the run, $(tr '\n' ' ' < "$OUT/busy.txt" | sed 's/ $//; s/ /, /g') % before each repeat (waited $quiet_waited s in all) and $busy_after % after."
echo "Server: nginx $(nginx -v 2>&1 | sed 's|.*/||') (OpenSSL $(openssl version | awk '{ print $2 }')), one worker, P-256 ECDSA leaf from a P-256 CA."
echo "Client: bench/checker-tls.c, engine/checker.c on one thread, $TARGETS targets (checks in flight), $N checks a run,"
echo "verify: true against the CA file. CPU: the process's getrusage (user + system) per check, in µs, median"
echo "(minimum) of $REPEATS runs; system time includes the loopback TCP work."
echo
echo "| backend | library | full handshakes (full_every 1) | user / sys | default policy (full every 16th) | user / sys | full / resumed in the policy run | checks/s full / policy (wall) | negotiated |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in $built; do
	echo "| $b | $(libversion "$b") | $(med "$b" full cpu_us) | $(med1 "$b" full user_us) / $(med1 "$b" full sys_us) | $(med "$b" policy cpu_us) | $(med1 "$b" policy user_us) / $(med1 "$b" policy sys_us) | $(one "$b" policy full) / $(one "$b" policy resumed) | $(med1 "$b" full per_s) / $(med1 "$b" policy per_s) | $(one "$b" full version) $(one "$b" full cipher) |"
done
echo
echo "Raw lines: $OUT/ (not committed). Run alone: bench/checker-tls.sh."
