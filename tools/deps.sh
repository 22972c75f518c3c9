#!/bin/sh
# Installs the Debian packages synwatch needs, only those that are missing.
# Usage: tools/deps.sh [build|package|test|bench|demo|all]   (default: test)
# Idempotent and quiet when nothing is missing; needs root (or sudo) to install.
set -eu

# TLS: GnuTLS, the build's backend (make TLS_BACKEND=openssl wants
# libssl-dev instead); test_checker's TLS servers are OpenSSL's, hence
# libssl-dev in the test set
# scdoc: the man pages (docs/man/*.scd, make man)
build="build-essential pkg-config libpcap-dev libnl-3-dev libnl-route-3-dev libhiredis-dev
 libsodium-dev libcyaml-dev libyaml-dev libcurl4-openssl-dev libmicrohttpd-dev libseccomp-dev
 libpcre2-dev libgnutls28-dev scdoc"
# make deb (tools/deb.sh) and tests/integration/test_package.sh: the build
# set (debian/control's Build-Depends) and debhelper, dpkg-buildpackage
# (dpkg-dev), fakeroot for a build as a user, lintian; systemd for
# systemd-analyze verify and security (the test needs no running systemd)
package="$build debhelper dpkg-dev fakeroot lintian systemd"
# real servers for tests/integration/test_checks.sh (each started privately by the test, never as a
# system service: see the policy-rc.d note below)
servers="postgresql-15 postgresql-client-15 openssh-server exim4-daemon-light nginx openssl dovecot-imapd
 dovecot-pop3d vsftpd memcached"
# man-db and groff-base: man --warnings over the pages; bash-completion: the
# completion file is tested with and without it (tests/integration/test_man.sh,
# test_completion.sh); curl: the tests' HTTP requests; prometheus: a real one
# scrapes the exporter and promtool tests the alerting rules (test_prometheus.sh)
test="$package libssl-dev libcmocka-dev clang libclang-rt-14-dev iproute2 nftables redis-server redis-sentinel
 redis-tools tcpdump hping3 python3 procps util-linux python3-aiosmtpd chromium tmux man-db groff-base
 bash-completion curl prometheus $servers"
# bench: the scanners compared with and the monitor the service checks are
# compared with (issue 17), and curl, which asks it for probes (bench/tls.sh,
# bench/checks.sh); the TLS libraries bench/tls.sh weighs and nginx, its
# server, are in the build and test sets
bench="$test zmap masscan nmap gnuplot-nox time prometheus-blackbox-exporter curl"
demo="$test tmux"

case "${1:-test}" in
build) want=$build ;;
package) want=$package ;;
test) want=$test ;;
bench) want=$bench ;;
demo) want=$demo ;;
all) want="$bench $demo" ;;
*) echo "deps.sh: unknown set '$1' (expected build, package, test, bench, demo or all)" >&2; exit 2 ;;
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
$sudo apt-get update -qq >&2
# A daemon's package starts its service when installed; the tests start
# their own servers, so a policy-rc.d that says 101 ("not allowed") keeps
# every service down during the install. One that exists is left as it is.
services="ssh postgresql exim4 nginx dovecot vsftpd memcached redis-server prometheus-blackbox-exporter prometheus"
running() { [ -x "/etc/init.d/$1" ] && $sudo service "$1" status > /dev/null 2>&1; }
was_running=""
for svc in $services; do
	if running "$svc"; then was_running="$was_running $svc"; fi
done
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy > /dev/null
	$sudo chmod 755 $policy
	made_policy=1
fi
rc=0
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2 || rc=$?
if [ -n "$made_policy" ]; then $sudo rm -f $policy; fi
[ $rc -eq 0 ] || exit $rc
# a service the install started anyway (a package that ignores policy-rc.d)
# is stopped; one that ran before is left running
for svc in $services; do
	case " $was_running " in *" $svc "*) continue ;; esac
	if running "$svc"; then
		echo "deps.sh: stopping the $svc service the install started" >&2
		$sudo service "$svc" stop >&2 || true
	fi
done
