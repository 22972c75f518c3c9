#!/bin/bash
# The TLS library for synwatch's tls check, chosen by measurement (issue 17):
# client CPU per handshake of OpenSSL 3.0 and GnuTLS 3.7 (wolfSSL 5.5 and
# Mbed TLS 2.28 were measured too and ruled out: bench/tls-libs.md), each driving many non-blocking handshakes on one epoll loop
# (bench/tls_handshake.c with bench/tls-LIB.c), against nginx on 127.0.0.1
# with a P-256 ECDSA certificate (TLS 1.3, X25519); beside them, in the same
# run, the handshake's crypto alone (openssl speed) and what
# prometheus-blackbox-exporter spends per TLS probe through /probe.
#
# Everything (certificates, nginx, blackbox_exporter, the binaries) lives in
# a temporary directory and on private 127.0.0.1 ports, and goes at exit,
# also on failure or Ctrl-C. Nothing leaves 127.0.0.0/8.
#
# usage: bench/tls.sh > tls.md      (bench/bench.sh runs it as section 'tls')
# Prints a markdown section; the raw lines go to $TLS_OUT (default
# bench/out/tls). Takes about 4 minutes on 2 cores.
# Environment: TLS_REPEATS (3; the figure is the median), TLS_N_FULL (600
# full handshakes a run), TLS_N_RESUMED (1500 resumed ones), TLS_CONC (64 in
# flight), TLS_K (10: the policy run does a full handshake every K-th check),
# TLS_IDLE (1000 idle sessions held for the memory figure; 0: none),
# TLS_BLACKBOX_N (1000 probes; 0: skip blackbox_exporter), TLS_SPEED_SECONDS
# (3), TLS_LIBS ("openssl gnutls"), TLS_QUIET_MAX (30) and
# TLS_QUIET_BUDGET (120): before each repeat, wait until other work keeps
# the machine at most that % busy, for at most that many seconds in all.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/bench/lib.sh"

REPEATS=${TLS_REPEATS:-3}
N_FULL=${TLS_N_FULL:-600}
N_RES=${TLS_N_RESUMED:-1500}
CONC=${TLS_CONC:-64}
K=${TLS_K:-10}
IDLE=${TLS_IDLE:-1000}
BB_N=${TLS_BLACKBOX_N:-1000}
SPEED_S=${TLS_SPEED_SECONDS:-3}
LIBS=${TLS_LIBS:-openssl gnutls}
OUT=${TLS_OUT:-$top/bench/out/tls}
NAME=tls.synwatch.test

sw_require_cmd cc openssl nginx curl ss awk
bench_out "$OUT"

# ------------------------------------------------------------------ certificates, nginx

. "$top/bench/tls-bench.sh"
tls_server_up "$tmp" "$NAME"

# ------------------------------------------------------------------ the clients

WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wvla"
lib_flags() {
	case $1 in
	openssl) pkg-config --cflags --libs openssl ;;
	gnutls) pkg-config --cflags --libs gnutls ;;
	esac
}
build_client() {
	# shellcheck disable=SC2046,SC2086 # word splitting wanted
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE $WARN -o "$tmp/tls-bench-$1" "$top/bench/tls_handshake.c" \
		"$top/bench/tls-$1.c" $(lib_flags "$1")
}
# shellcheck disable=SC2086 # a list
build_each client "install the bench packages: tools/deps.sh bench" build_client $LIBS

# the quiet wait before each repeat (tls-bench.sh's wait_quiet)
QUIET_MAX=${TLS_QUIET_MAX:-30}
QUIET_BUDGET=${TLS_QUIET_BUDGET:-120}

hz=$(getconf CLK_TCK)

# run LIB MODE REP PORT ARGS...: one client run, its line appended to
# $OUT/LIB-MODE.txt
run() {
	local lib=$1 mode=$2 rep=$3 p=$4 line
	shift 4
	local s0 s1
	s0=$(nginx_ticks)
	line=$(timeout 300 "$tmp/tls-bench-$lib" -p "$p" -C "$tmp/ca.pem" -s "$NAME" -c "$CONC" "$@" 2> "$tmp/err")
	s1=$(nginx_ticks)
	if [ -z "$line" ]; then
		log "$lib $mode (repeat $rep) failed: $(head -3 "$tmp/err")"
		return 1
	fi
	# the server's CPU per check, the run's 20 warm-up handshakes included
	line="$line srv_us=$(echo "$line" | field n | awk -v a="$s0" -v b="$s1" -v hz="$hz" \
		'{ printf "%.0f", ($1 > 0 ? 1e6 * (b - a) / hz / $1 : 0) }')"
	echo "$line" >> "$OUT/$lib-$mode.txt"
	case $line in *" failed=0 "*) ;; *) log "$lib $mode: some checks failed: $(echo "$line" | field first_error)" ;; esac
}

# The modes, per library: TLS 1.3 full, resumed with psk_dhe_ke, resumed
# offering psk_ke (to the server that allows it), resumed taking the new
# ticket each resumption brings (what keeps resuming past the first
# ticket's lifetime, 5 min on nginx), the policy (one full
# handshake in K); TLS 1.2 full and resumed. Mbed TLS 2.28 has no TLS 1.3
# client: its rows are TLS 1.2. Then, once: psk_ke offered to the default
# server, and the bare TCP connection (the part of every check that is no
# TLS).
log "nginx on 127.0.0.1:$port and :$port_ke; clients: $built; $REPEATS repeats"
busy_before=$(busy)
t0=$SECONDS
rm -f "$OUT/busy.txt"
for rep in $(seq "$REPEATS"); do
	wait_quiet
	first=${built%% *}
	run "$first" tcp "$rep" "$port" -t -n "$N_RES"
	# the order rotates with the repeat, so that no library always meets
	# the same neighbours' load
	order=$(echo "$built" | awk -v r="$rep" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
	for lib in $order; do
		run "$lib" full "$rep" "$port" -n "$N_FULL"
		run "$lib" res "$rep" "$port" -n "$N_RES" -r 0
		run "$lib" pskke "$rep" "$port_ke" -n "$N_RES" -r 0 -k
		run "$lib" refresh "$rep" "$port" -n "$N_RES" -r 0 -R
		run "$lib" policy "$rep" "$port" -n "$N_RES" -r "$K"
		run "$lib" full12 "$rep" "$port" -n "$N_FULL" -2
		run "$lib" res12 "$rep" "$port" -n "$N_RES" -r 0 -2
	done
	log "repeat $rep done ($((SECONDS - t0)) s)"
done
for lib in $built; do
	run "$lib" pskke-default 1 "$port" -n 200 -r 0 -k
done
if [ "$IDLE" -gt 0 ]; then
	for lib in $built; do
		run "$lib" idle 1 "$port" -i "$IDLE"
	done
fi

# ------------------------------------------------------------------ the floor

crypto_floor "$SPEED_S"
floor_issue=$(awk -v x="$x25519_us" -v v="$verify_us" 'BEGIN { printf "%.0f", x + v }')
# this chain: a key pair and a shared secret (X25519 twice, at most), the
# CertificateVerify and the leaf's signature (two P-256 verifications)
floor_chain=$(awk -v x="$x25519_us" -v v="$verify_us" 'BEGIN { printf "%.0f", 2 * x + 2 * v }')

# ------------------------------------------------------------------ blackbox_exporter

bb_line=""
if [ "$BB_N" -gt 0 ] && blackbox_up "$tmp" "$NAME"; then
	log "blackbox_exporter: $REPEATS x $BB_N TLS probes through /probe"
	url="$bb_url/probe?module=tls&target=127.0.0.1:$port"
	# shellcheck disable=SC2034 # i: a counter only
	for i in $(seq "$BB_N"); do echo "$url"; done > "$tmp/urls.txt"
	head -100 "$tmp/urls.txt" > "$tmp/urls-warm.txt"
	blackbox_probe "$tmp" "$tmp/urls-warm.txt" 16 > /dev/null
	for rep in $(seq "$REPEATS"); do
		wait_quiet
		blackbox_probe "$tmp" "$tmp/urls.txt" 16 >> "$OUT/blackbox.txt"
	done
	bb_ok=$(field ok < "$OUT/blackbox.txt" | minimum)
	bb_ver=$(dpkg-query -W -f='${Version}' prometheus-blackbox-exporter 2> /dev/null)
	bb_line="| prometheus-blackbox-exporter | $bb_ver | $(field cpu_us < "$OUT/blackbox.txt" | median) ($(field cpu_us < "$OUT/blackbox.txt" | minimum)) | – | – | – | – | $(field per_s < "$OUT/blackbox.txt" | median) | – | – | – | – | tcp prober, tls: true; per /probe request (HTTP + Go TLS 1.3 handshake + metrics), 16 requests in flight; probe_success 1 in at least $bb_ok of $BB_N |"
elif [ "$BB_N" -gt 0 ]; then
	log "no blackbox_exporter comparison"
fi
busy_after=$(busy)

# ------------------------------------------------------------------ report


echo "## TLS handshake cost per library (bench/tls.sh)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),"
echo "$(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME"), kernel $(uname -r). Other work kept the machine"
echo "$busy_before % busy before the run, $(tr '\n' ' ' < "$OUT/busy.txt" | sed 's/ $//; s/ /, /g') % before each repeat (after waiting up to"
echo "$QUIET_BUDGET s in all for at most $QUIET_MAX %: waited $quiet_waited s) and $busy_after % after: the wall-clock rates"
echo "are disturbed by it, and so, less, is CPU time (shared caches and cores): hence the minimum beside the median."
echo "Server: nginx $(nginx -v 2>&1 | sed 's|.*/||') (OpenSSL $(openssl version | awk '{ print $2 }')), one worker, P-256 ECDSA leaf signed by a P-256 CA, X25519;"
echo "client: one process, one epoll loop, $CONC handshakes in flight on fresh non-blocking connections, chain"
echo "and name verified, version, cipher, subject, issuer, SANs and notAfter extracted on every check,"
echo "close_notify sent and the socket read to EOF. CPU: the client's getrusage (user + system) per check, in µs,"
echo "median (minimum) of $REPEATS runs of $N_FULL full or $N_RES resumed checks; system time includes the loopback TCP work."
echo "nginx CPU: its worker's CPU time per check (clock ticks, so coarse; the run's 20 warm-up handshakes included)."
echo
echo "| library | version | full handshake | resumed, psk_dhe_ke | resumed, psk_ke | resumed, new ticket kept | 1 full in $K, psk_dhe_ke | checks/s full / resumed (wall) | TLS 1.2 full / resumed | nginx CPU full / resumed | heap per idle session | session bytes | notes |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for lib in $built; do
	t12="$(med1 "$lib" full12 cpu_us) / $(med1 "$lib" res12 cpu_us)"
	note="$(one "$lib" full full_version) $(one "$lib" full full_cipher); psk_ke run: kx $(one "$lib" pskke res_kx); psk_ke offered to the default server: $(one "$lib" pskke-default resumed) of $(one "$lib" pskke-default n) resumed"
	heap=$(one "$lib" idle heap_per_conn_b)
	[ "$heap" != "–" ] && heap="$(awk -v b="$heap" 'BEGIN { printf "%.1f KiB", b / 1024 }')"
	echo "| $lib | $(one "$lib" full version) | $(med "$lib" full cpu_us) | $(med "$lib" res cpu_us) | $(med "$lib" pskke cpu_us) | $(med "$lib" refresh cpu_us) | $(med "$lib" policy cpu_us) | $(med1 "$lib" full per_s) / $(med1 "$lib" res per_s) | $t12 | $(med1 "$lib" full srv_us) / $(med1 "$lib" res srv_us) | $heap | $(one "$lib" res session_b) | $note |"
done
[ -n "$bb_line" ] && echo "$bb_line"
first=${built%% *}
echo "| TCP alone | kernel $(uname -r | cut -d- -f1) | $(med "$first" tcp cpu_us) | – | – | – | – | $(med1 "$first" tcp per_s) | – | $(med1 "$first" tcp srv_us) | – | – | connect, shutdown, read to EOF, close: no TLS; the floor of any check on this loop |"
echo
echo "Floor, same run (\`openssl speed -seconds $SPEED_S ecdhx25519 ecdsap256\`, user CPU): X25519 $x25519_us µs, P-256"
echo "verify $verify_us µs (sign $sign_us µs). The issue's floor, one X25519 and one verification: **$floor_issue µs**;"
echo "this chain's, a key pair and a shared secret plus two verifications (CertificateVerify and the leaf's"
echo "signature): **$floor_chain µs**. A resumed TLS 1.3 handshake's floor is one X25519 pair (psk_dhe_ke) or"
echo "none (psk_ke, TLS 1.2 tickets), plus the TCP connection."
echo
echo "Raw lines: $OUT/ (not committed). Run alone: bench/tls.sh; in make bench: BENCH_SECTIONS=\"... tls\"."
