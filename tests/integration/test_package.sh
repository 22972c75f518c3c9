#!/bin/bash
# The Debian package and make install.
#  - make install DESTDIR=... (PREFIX /usr/local): the paths, the units'
#    paths filled in, a config already there kept; make uninstall.
#  - tools/deb.sh (make deb) builds the package from scratch in a copy of
#    the tree (dpkg-buildpackage -us -uc -b; nothing of build/ reused);
#    lintian says no more than the tags known and explained in
#    docs/operations.md#the-debian-package; the file list (programs, units,
#    sysusers.d, the page, docs, a man page for each program docs/man/ has
#    one for, completion when the tree has it, nothing of the tests or the
#    benchmark); the conffiles; Depends
#    names the package of every shared library a program links, and only
#    those (and systemd-sysusers).
#  - dpkg -i: the synwatch user, the configs 0640 root:synwatch, no unit
#    enabled; systemd-analyze verify of every installed unit says nothing;
#    systemd-analyze security --offline: the consumers' exposure <= 2.0,
#    synwatch's <= 4.5, the capabilities each unit may have; the installed
#    alerter reads the installed config as the synwatch user; the installed
#    synwatch checks a small fleet once (dropping to the synwatch user) and
#    monitors it into a private Redis with the unit's flags, where the
#    installed exporter serves its metrics and the page from
#    /usr/share/synwatch/web.
#  - dpkg --purge: files, conffiles, overrides and /var/lib/synwatch gone.
# The test runs in a mount namespace of its own in which /etc is an overlay
# on the machine's: the synwatch user and group the package makes, and
# /etc/synwatch, exist only there, and vanish with it. (A synwatch started
# elsewhere on the machine meanwhile, by another test or another checkout,
# would otherwise drop to that user, its default, and fail; and a process
# of it running as synwatch would keep userdel from removing the user.) A
# synwatch user, group or /etc/synwatch the machine has is hidden in the
# overlay, so that the package makes its own. dpkg's database and the files
# outside /etc are the machine's: the purge removes them. The wrapper below
# then checks, in the machine's namespace, that the machine is as it was.
# The test fails (it does not skip) if a synwatch package or its programs
# are installed before it.
set -u
sw_pkg_state() { # what the test must leave as it found it
	getent passwd synwatch
	getent group synwatch
	ls -ld --time-style=+ /etc/synwatch 2> /dev/null
	dpkg-query -W -f='${Status}\n' synwatch 2> /dev/null
	ls -l --time-style=+ /usr/sbin/synwatch /usr/bin/synwatch-* 2> /dev/null
}
if [ -z "${SW_PKG_MNTNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "FAIL: test_package: needs root (mount namespaces, dpkg -i)" >&2; exit 1; }
	before=$(sw_pkg_state)
	SW_PKG_MNTNS=1 unshare --mount --propagation private bash "$0" "$@"
	rc=$?
	after=$(sw_pkg_state)
	if [ "$before" != "$after" ]; then
		echo "FAIL: test_package: the machine's synwatch user, group, /etc/synwatch, package or programs changed" \
			"during the test (by it, or by another process): before: '$before'; after: '$after'" >&2
		exit 1
	fi
	[ $rc -eq 0 ] && echo "ok: the machine as it was: its synwatch user, group, /etc/synwatch, package and programs"
	exit $rc
fi
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd dpkg-buildpackage dh lintian systemd-analyze redis-server redis-cli curl readelf "$SW_PY"
t0=$(date +%s)

dpkg-query -W -f='${Status}' synwatch 2> /dev/null | grep -Eq 'installed|config-files' &&
	sw_fail "a synwatch package is on this machine already; the test installs and purges one: remove it first"
for f in /usr/sbin/synwatch /usr/bin/synwatch-alert /usr/bin/synwatch-exporter /usr/share/synwatch; do
	[ -e "$f" ] && sw_fail "$f exists (make install PREFIX=/usr?); the package would take it over: remove it first"
done

sw_tmpdir work
# /etc: the machine's, with this test's changes in $work/etc-up
mkdir "$work/etc-up" "$work/etc-work"
mount -t overlay overlay -o lowerdir=/etc,upperdir="$work/etc-up",workdir="$work/etc-work" /etc ||
	sw_fail "cannot mount an overlay on /etc"
sw_cleanup_add "umount /etc"
# the machine's synwatch user, group and /etc/synwatch, if any: hidden here
if getent passwd synwatch > /dev/null; then userdel -f synwatch > /dev/null 2>&1 || sw_fail "cannot hide the synwatch user"; fi
if getent group synwatch > /dev/null; then groupdel -f synwatch || sw_fail "cannot hide the synwatch group"; fi
rm -rf /etc/synwatch
version=$(dpkg-parsechangelog -l "$SW_TOP/debian/changelog" -S Version)
upstream=${version%-*}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
programs="synwatch-alert synwatch-ctl synwatch-exporter synwatch-quorum synwatch-top"
units="synwatch synwatch-alert synwatch-exporter synwatch-quorum"

# ---- make install, make uninstall ----
stage=$work/stage
# a config of the admin's is there already: kept
mkdir -p "$stage/etc/synwatch"
echo "# mine" > "$stage/etc/synwatch/synwatch.yaml"
env -u MAKEFLAGS -u MAKELEVEL make -C "$SW_TOP" --no-print-directory install DESTDIR="$stage" \
	> "$work/install.log" 2>&1 || sw_fail "make install: $(tail -5 "$work/install.log")"
for f in usr/local/sbin/synwatch $(printf 'usr/local/bin/%s ' $programs) usr/local/share/synwatch/web/index.html \
	usr/local/lib/sysusers.d/synwatch.conf usr/local/share/doc/synwatch/docs/operations.md \
	usr/local/share/doc/synwatch/examples/synwatch.example.yaml etc/synwatch/alert.yaml \
	$(printf 'usr/local/lib/systemd/system/%s.service ' $units); do
	[ -f "$stage/$f" ] || sw_fail "make install: no $f"
done
[ "$(cat "$stage/etc/synwatch/synwatch.yaml")" = "# mine" ] || sw_fail "make install overwrote an existing synwatch.yaml"
grep -q "synwatch.yaml exists: kept" "$work/install.log" || sw_fail "make install did not say it kept synwatch.yaml"
[ "$(stat -c %a "$stage/etc/synwatch/alert.yaml")" = 640 ] || sw_fail "alert.yaml is not mode 0640"
grep -q '^ExecStart=/usr/local/sbin/synwatch -c /etc/synwatch/synwatch.yaml ' \
	"$stage/usr/local/lib/systemd/system/synwatch.service" || sw_fail "synwatch.service: not the installed paths"
grep -rq '@[A-Z]*@' "$stage/usr/local/lib/systemd/system" && sw_fail "a unit kept a placeholder"
env -u MAKEFLAGS -u MAKELEVEL make -C "$SW_TOP" --no-print-directory uninstall DESTDIR="$stage" \
	> "$work/uninstall.log" 2>&1 || sw_fail "make uninstall: $(tail -5 "$work/uninstall.log")"
left=$(cd "$stage" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./etc/synwatch/alert.yaml ./etc/synwatch/synwatch.yaml " ] ||
	sw_fail "make uninstall left more than the configs: $left"
sw_pass "make install: the paths, the units' paths, an existing config kept; make uninstall"

# ---- the package ----
out=$work/deb
b0=$(date +%s)
deb=$("$SW_TOP/tools/deb.sh" "$out" 2> "$work/deb.err") || sw_fail "tools/deb.sh: $(tail -20 "$work/deb.err")"
build_s=$(($(date +%s) - b0))
[ "$deb" = "$out/synwatch_${version}_$arch.deb" ] && [ -f "$deb" ] || sw_fail "no .deb where tools/deb.sh said: '$deb'"
[ -f "$out/synwatch-dbgsym_${version}_$arch.deb" ] || sw_fail "no dbgsym package"
[ -d "$out/synwatch-$upstream" ] && sw_fail "tools/deb.sh left its copy of the tree"
sw_info "package built from scratch and linted in $build_s s"

# lintian: the known tags only (docs/operations.md#the-debian-package);
# no-manual-page only for a program docs/man has no page for
has_man() { compgen -G "$SW_TOP/docs/man/$1.*" > /dev/null; }
bad=""
while IFS= read -r line; do
	case $line in N:* | "") continue ;; esac
	tag=$(echo "$line" | awk '{ print $3 }')
	case $tag in
	initial-upload-closes-no-bugs | package-supports-alternative-init-but-no-init.d-script) continue ;;
	no-manual-page) has_man "$(echo "$line" | sed -n 's|.*\[usr/s*bin/\(.*\)\]$|\1|p')" || continue ;;
	esac
	bad="$bad
  $line"
done < "$out/lintian.txt"
[ -z "$bad" ] || sw_fail "lintian tags not known:$bad"
sw_pass "lintian: $(awk '{ print $3 }' "$out/lintian.txt" | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')"

# the file list
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | sort > "$work/files.txt"
want="/usr/sbin/synwatch $(printf '/usr/bin/%s ' $programs) $(printf '/lib/systemd/system/%s.service ' $units)
	/usr/lib/sysusers.d/synwatch.conf /etc/synwatch/synwatch.yaml /etc/synwatch/alert.yaml
	/usr/share/doc/synwatch/copyright /usr/share/doc/synwatch/README.md /usr/share/doc/synwatch/docs/operations.md
	/usr/share/doc/synwatch/examples/synwatch.example.yaml /usr/share/doc/synwatch/examples/alert.example.yaml
	/usr/share/doc/synwatch/examples/synwatch-rules.yml /usr/share/doc/synwatch/examples/synwatch-dashboard.json"
for f in "$SW_TOP"/tools/web/*; do want="$want /usr/share/synwatch/web/${f##*/}"; done
for f in $want; do grep -qx -- "$f" "$work/files.txt" || sw_fail "the package has no $f"; done
grep -E '/(fleet|fleet-responder|redis-bench|checker-tls)$|^/usr/local|/build/|/tests/|/bench/' "$work/files.txt" &&
	sw_fail "the package holds files of the tests, the benchmark or the build"
for p in synwatch $programs; do
	has_man "$p" || continue
	grep -Eq "^/usr/share/man/man[158]/$p\.[158]\.gz$" "$work/files.txt" || sw_fail "docs/man has $p, the package no man page of it"
done
if [ -f "$SW_TOP/tools/completion/synwatch" ]; then
	grep -qx /usr/share/bash-completion/completions/synwatch "$work/files.txt" || sw_fail "no bash completion"
fi
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | sort | tr '\n' ' ')
[ "$conffiles" = "/etc/synwatch/alert.yaml /etc/synwatch/synwatch.yaml " ] || sw_fail "conffiles: '$conffiles'"
sw_pass "file list: $(wc -l < "$work/files.txt") entries; conffiles: $conffiles"

# Depends: the package of every library a program links, and only those
mkdir "$work/x"
dpkg-deb -x "$deb" "$work/x"
depends=$(dpkg-deb -f "$deb" Depends)
dep_pkgs=$(echo "$depends" | tr ',' '\n' | sed 's/([^)]*)//g; s/^ *//; s/ *$//' | grep -v '|' | sort -u)
echo "$depends" | grep -q 'systemd | systemd-standalone-sysusers | systemd-sysusers' ||
	sw_fail "Depends lacks systemd-sysusers: $depends"
# lib_owner SONAME: the package of the library the loader finds for it
# (merged /usr: dpkg may know it under /lib or /usr/lib, by either name)
lib_owner() {
	local path p alt
	path=$(ldconfig -p | awk -v so="$1" '$1 == so { print $NF; exit }')
	[ -n "$path" ] || return 0
	for p in "$path" "$(readlink -f "$path")"; do
		for alt in "$p" "${p#/usr}" "/usr$p"; do
			dpkg -S "$alt" 2> /dev/null | head -1 | cut -d: -f1 | grep . && return 0
		done
	done
	return 0
}
linked=""
for bin in "$work/x/usr/sbin/synwatch" $(printf "$work/x/usr/bin/%s " $programs); do
	for so in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		pkg=$(lib_owner "$so")
		[ -n "$pkg" ] || sw_fail "${bin##*/} links $so, which no package owns"
		linked="$linked $pkg"
	done
done
linked=$(echo "$linked" | tr ' ' '\n' | grep . | sort -u)
[ "$linked" = "$dep_pkgs" ] || sw_fail "Depends and the linked libraries differ: linked: $(echo $linked); Depends: $(echo $dep_pkgs)"
echo "$depends" | grep -q -- '-dev' && sw_fail "Depends names a -dev package: $depends"
sw_pass "Depends: the $(echo "$dep_pkgs" | wc -l) packages of the linked libraries and systemd-sysusers"

# the shipped config probes only 198.18.0.0/15 (or 127.0.0.0/8)
"$SW_PY" - "$work/x/etc/synwatch/synwatch.yaml" <<'PY' || sw_fail "the shipped synwatch.yaml names an address outside 198.18.0.0/15"
import ipaddress, re, sys
ok = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("127.0.0.0/8")]
bad = []
for n, line in enumerate(open(sys.argv[1]), 1):
    text = line.split("#", 1)[0]
    for m in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?", text):
        net = ipaddress.ip_network(m, strict=False)
        if not any(net.subnet_of(o) for o in ok):
            bad.append(f"{n}: {m}")
    # a name would be resolved and probed wherever it points
    if re.search(r"(host|hosts):|^\s*-\s", text) and re.search(r"[a-z][a-z0-9-]*\.[a-z]{2,}", text.split(":", 1)[-1]):
        bad.append(f"{n}: a host name: {text.strip()}")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# ---- dpkg -i ----
# dpkg's lock may be another's for a moment (apt): wait for it, up to 60 s
dpkg_locked() { # CMD...: runs it; 0 if it ran (exit status in $dpkg_rc), 1 if dpkg's lock was busy
	"$@" > "$work/dpkg.log" 2>&1
	dpkg_rc=$?
	! grep -q 'lock' "$work/dpkg.log" || [ $dpkg_rc -eq 0 ]
}
dpkg_run() {
	local i
	for i in $(seq 60); do
		dpkg_locked "$@" && return $dpkg_rc
		sleep 1
	done
	return 1
}
# removes what the package put on this machine (its user is in the overlay)
pkg_cleanup() {
	if dpkg-query -W -f='${Status}' synwatch 2> /dev/null | grep -Eq 'installed|config-files'; then
		dpkg_run dpkg --purge synwatch
	fi
	return 0
}
sw_cleanup_add pkg_cleanup
dpkg_run dpkg -i "$deb" || sw_fail "dpkg -i: $(tail -5 "$work/dpkg.log")"
dpkg-query -W -f='${Status} ${Version}' synwatch | grep -qx "install ok installed $version" ||
	sw_fail "not installed: $(dpkg-query -W -f='${Status} ${Version}' synwatch)"
getent passwd synwatch > /dev/null || sw_fail "the package did not create the synwatch user"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd synwatch)
[ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] || sw_fail "synwatch is not a system user without a shell: uid $uid, shell $shell"
for f in /etc/synwatch/synwatch.yaml /etc/synwatch/alert.yaml; do
	[ "$(stat -c '%U:%G %a' "$f")" = "root:synwatch 640" ] || sw_fail "$f is $(stat -c '%U:%G %a' "$f"), not root:synwatch 640"
done
ls /etc/systemd/system/*.wants/synwatch* > /dev/null 2>&1 && sw_fail "a unit was enabled on install"
[ "$(/usr/sbin/synwatch -V)" = "synwatch $upstream" ] || sw_fail "/usr/sbin/synwatch -V: $(/usr/sbin/synwatch -V), package $version"
sw_pass "dpkg -i: user synwatch (uid $uid), configs root:synwatch 640, no unit enabled, synwatch -V $upstream"

# the units as installed
for u in $units; do
	v=$(systemd-analyze verify "/lib/systemd/system/$u.service" 2>&1) || sw_fail "systemd-analyze verify $u.service: $v"
	[ -z "$v" ] || sw_fail "systemd-analyze verify $u.service says: $v"
done
scores=""
for u in $units; do
	f=/lib/systemd/system/$u.service
	s=$(systemd-analyze security --offline=true "$f" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$s" ] || sw_fail "systemd-analyze security --offline=true $u.service: no score"
	scores="$scores $u $s,"
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$f")
	amb=$(sed -n 's/^AmbientCapabilities=//p' "$f")
	if [ "$u" = synwatch ]; then
		[ "$caps" = "CAP_NET_RAW CAP_NET_ADMIN" ] && [ "$amb" = "CAP_NET_RAW CAP_NET_ADMIN" ] ||
			sw_fail "synwatch.service: capabilities '$caps', ambient '$amb'"
		awk -v s="$s" 'BEGIN { exit !(s <= 4.5) }' || sw_fail "synwatch.service: exposure $s > 4.5"
		grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$f" || sw_fail "synwatch.service: no ExecReload by SIGHUP"
	else
		[ -z "$caps" ] && [ -z "$amb" ] && grep -q '^CapabilityBoundingSet=$' "$f" ||
			sw_fail "$u.service: capabilities '$caps', ambient '$amb': it needs none"
		awk -v s="$s" 'BEGIN { exit !(s <= 2.0) }' || sw_fail "$u.service: exposure $s > 2.0"
		grep -q '^ExecReload=' "$f" && sw_fail "$u.service has an ExecReload=, but $u does not reload on SIGHUP"
	fi
done
sw_pass "systemd-analyze verify: every unit clean; security exposure:${scores%,}"

# the installed alerter reads the installed config, as the user the unit runs it as
chk=$(setpriv --reuid synwatch --regid synwatch --init-groups /usr/bin/synwatch-alert -c /etc/synwatch/alert.yaml --check 2>&1) ||
	sw_fail "synwatch-alert --check as synwatch: $chk"
sw_pass "the installed alerter reads /etc/synwatch/alert.yaml as synwatch: $chk"

# ---- the installed synwatch against a test fleet ----
sw_fleet_test pk fl --spec "open=24,closed=16,filtered=4,ports=22+80" --seed 11
awk 'NR > 1 { print $1 ":" $2 }' "$fl/truth.tsv" > "$fl/targets.txt"
n=$(wc -l < "$fl/targets.txt")
ip netns exec "$pns" /usr/sbin/synwatch --once --rate 2000 --timeout 300ms --retries 1 -T "$fl/targets.txt" \
	> "$fl/once.ndjson" 2> "$fl/once.err" || sw_fail "installed synwatch --once exited $?: $(tail -3 "$fl/once.err")"
grep -q "running as 'synwatch' without capabilities" "$fl/once.err" ||
	sw_fail "the installed synwatch did not drop to the package's user: $(head -5 "$fl/once.err")"
[ "$(wc -l < "$fl/once.ndjson")" -eq "$n" ] || sw_fail "$(wc -l < "$fl/once.ndjson") results for $n endpoints"
"$SW_TOP/tests/integration/check_results.py" "$fl/truth.tsv" "$fl/once.ndjson" > "$fl/check.txt" 2>&1 ||
	sw_fail "wrong results: $(tail -5 "$fl/check.txt")"
sw_pass "installed synwatch --once: $n fleet endpoints right, as user synwatch"

# monitoring with the unit's flags into a private Redis; the installed exporter reads it
sw_redis_up "$fl" -- --unixsocketperm 777
awk -F'\t' 'NR > 1 && ($3 == "open" || $3 == "closed") { printf "      - \"%s:%s\"\n", $1, $2 }' "$fl/truth.tsv" \
	> "$fl/hosts.yaml"
n_watch=$(wc -l < "$fl/hosts.yaml")
n_open=$(awk -F'\t' 'NR > 1 && $3 == "open"' "$fl/truth.tsv" | wc -l)
{
	cat <<EOF
location: pkg
rate: 1000
redis: unix://$fl/r.sock
spill: $fl/spill.log
defaults:
  interval: 1s
  timeout: 300ms
  retries: 0
  failures: 1
groups:
  - name: fleet
    metrics: per_target
    hosts:
EOF
	cat "$fl/hosts.yaml"
} > "$fl/synwatch.yaml"
/usr/bin/synwatch-exporter --redis "unix://$fl/r.sock" --listen 127.0.0.1:0 > "$fl/exp.log" 2>&1 &
epid=$!
sw_cleanup_add "kill $epid 2>/dev/null"
sw_wait_for 10 grep -q "listening on" "$fl/exp.log" || sw_fail "the installed exporter did not start: $(cat "$fl/exp.log")"
grep -q "web /usr/share/synwatch/web)" "$fl/exp.log" || sw_fail "the exporter does not serve /usr/share/synwatch/web: $(cat "$fl/exp.log")"
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$fl/exp.log" | head -1)
metrics_ok() {
	curl -sf "$base/metrics" -o "$fl/metrics.txt" || return 1
	[ "$(grep -c '^probe_success{.*location="pkg".*} 1$' "$fl/metrics.txt")" -eq "$n_open" ] &&
		[ "$(grep -c '^probe_success{.*location="pkg".*} 0$' "$fl/metrics.txt")" -eq $((n_watch - n_open)) ] &&
		grep -q "^synwatch_group_targets{location=\"pkg\",group=\"fleet\",state=\"up\"} $n_open\$" "$fl/metrics.txt" &&
		grep -q '^synwatch_handshake_duration_seconds_count{location="pkg",group="fleet"} [1-9]' "$fl/metrics.txt"
}
start_monitor() { # FLAG...: the installed synwatch monitoring the fleet, pid in mpid
	ip netns exec "$pns" /usr/sbin/synwatch -c "$fl/synwatch.yaml" "$@" > /dev/null 2> "$fl/mon.err" &
	mpid=$!
	sw_cleanup_add "kill -9 $mpid 2>/dev/null"
}
# A synwatch killed by its own seccomp filter (SIGSYS, status 159) fails
# the test at its end; the rest runs without --seccomp meanwhile, so that
# one run says all that is wrong.
seccomp_broken=""
klog_from=$(dmesg 2> /dev/null | wc -l)
start_monitor --seccomp --output none
sw_wait_for 15 eval 'metrics_ok || ! sw_pid_alive $mpid'
if ! sw_pid_alive $mpid; then
	wait $mpid
	rc=$?
	[ $rc -eq 159 ] || sw_fail "synwatch -c ... --seccomp exited $rc: $(tail -3 "$fl/mon.err")"
	seccomp_broken="the installed synwatch with the unit's --seccomp was killed by SIGSYS (its seccomp filter) within 15 s:"
	seccomp_broken="$seccomp_broken$(dmesg 2> /dev/null | tail -n +$((klog_from + 1)) |
		sed -n 's/.*type=1326.*comm="\([^"]*\)".*exe="\/usr\/sbin\/synwatch".*syscall=\([0-9]*\).*/ thread \1 called syscall \2;/p' |
		sort -u | tr -d '\n')"
	sw_info "FAILING (at the end): $seccomp_broken going on without --seccomp"
	start_monitor --output none
fi
sw_wait_for 15 metrics_ok || sw_fail "/metrics: $(grep -c '^probe_success' "$fl/metrics.txt" 2> /dev/null) probe_success series, expected $n_open up and $((n_watch - n_open)) down, and the group's counts and histogram: $(grep -E '^synwatch_(group_targets|handshake_duration_seconds_count)' "$fl/metrics.txt" | head -6); synwatch: $(tail -3 "$fl/mon.err")"
curl -sf "$base/" -o "$fl/index.html" || sw_fail "GET / from the installed exporter"
cmp -s "$fl/index.html" /usr/share/synwatch/web/index.html || sw_fail "GET / is not /usr/share/synwatch/web/index.html"
if [ -z "$seccomp_broken" ]; then
	grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$mpid/status" || sw_fail "the monitoring synwatch has no seccomp filter"
fi
kill -TERM $mpid
sw_wait_for 10 eval "! sw_pid_alive $mpid" || sw_fail "synwatch did not stop on SIGTERM"
wait $mpid || sw_fail "synwatch exited $? on SIGTERM: $(tail -3 "$fl/mon.err")"
kill $epid
sw_pass "installed synwatch monitored $n_watch endpoints into Redis ($([ -z "$seccomp_broken" ] && echo "with the unit's flags" || echo "WITHOUT --seccomp")); the installed exporter: $n_open up, $((n_watch - n_open)) down, the page from /usr/share/synwatch/web"

# ---- dpkg --purge ----
mkdir -p /var/lib/synwatch # as StateDirectory= would have made it
dpkg_run dpkg --purge synwatch || sw_fail "dpkg --purge: $(tail -5 "$work/dpkg.log")"
dpkg-query -W -f='${Status}' synwatch 2> /dev/null | grep -Eq 'installed|config-files' && sw_fail "still known to dpkg after the purge"
for f in /usr/sbin/synwatch /usr/bin/synwatch-alert /etc/synwatch /lib/systemd/system/synwatch.service \
	/usr/share/synwatch /usr/lib/sysusers.d/synwatch.conf /var/lib/synwatch; do
	[ -e "$f" ] && sw_fail "$f is still there after the purge"
done
dpkg-statoverride --list | grep -q /etc/synwatch && sw_fail "a statoverride is left after the purge"
getent passwd synwatch > /dev/null || sw_fail "the purge removed the synwatch user (Debian leaves system users)"
sw_pass "dpkg --purge: files, conffiles, overrides and /var/lib/synwatch gone; the user stays (in the overlay only)"
[ -z "$seccomp_broken" ] || sw_fail "$seccomp_broken"
sw_pass "package: all in $(($(date +%s) - t0)) s (the package's build and lintian $build_s s)"
