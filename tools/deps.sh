#!/bin/sh
# Installs the Debian packages synwatch needs, only those that are missing.
# Usage: tools/deps.sh [build|test|bench|demo|all]   (default: test)
# Idempotent and quiet when nothing is missing; needs root (or sudo) to install.
set -eu

# TLS: GnuTLS, the build's backend (make TLS_BACKEND=openssl wants
# libssl-dev instead); test_checker's TLS servers are OpenSSL's, hence
# libssl-dev in the test set
build="build-essential pkg-config libpcap-dev libnl-3-dev libnl-route-3-dev libhiredis-dev
 libsodium-dev libcyaml-dev libyaml-dev libcurl4-openssl-dev libmicrohttpd-dev libseccomp-dev
 libpcre2-dev libgnutls28-dev"
test="$build libssl-dev libcmocka-dev clang libclang-rt-14-dev iproute2 nftables redis-server redis-sentinel
 redis-tools tcpdump hping3 python3 procps util-linux python3-aiosmtpd chromium tmux"
# tls: the TLS libraries weighed by bench/tls.sh (and bench/checker-tls.sh),
# a real TLS server and the monitor compared with (issue 17)
bench="$test zmap masscan nmap gnuplot-nox time openssl libssl-dev libgnutls28-dev
 libwolfssl-dev libmbedtls-dev nginx prometheus-blackbox-exporter"
demo="$test tmux"

case "${1:-test}" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
demo) want=$demo ;;
all) want="$bench $demo" ;;
*) echo "deps.sh: unknown set '$1' (expected build, test, bench, demo or all)" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons' packages (nginx, blackbox_exporter, redis) would start their
# service on install; the tests and benchmarks run their own instances.
# invoke-rc.d asks policy-rc.d, and 101 means "not allowed". Ours is removed
# again; one that was already there is left as it is.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d > /dev/null
	$sudo chmod 755 /usr/sbin/policy-rc.d
	trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
