#!/bin/bash
# synwatch --check (-t): the settings and the target table as a start makes
# them, a summary on stdout, exit 0; or the start's one line and exit 2.
# Every run is as nobody (no CAP_NET_RAW: a probe socket could not even be
# opened), in a namespace of the test's own whose only route to
# 198.18.0.0/15 is through 198.19.255.2, with a private /etc/hosts and an
# nsswitch.conf that asks no DNS server (names resolve from that file or
# not at all). Redis is a listener that counts connections: none may come.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd ip unshare setpriv python3
sw_require_bin synwatch
bin="$SW_BIN/synwatch"
example="$SW_TOP/etc/synwatch.example.yaml"
sw_tmpdir tmp
chmod 755 "$tmp"
ns=$(sw_unique swc)
sw_ns_add "$ns"
ip -n "$ns" link add swc0 type veth peer name swc1 && ip -n "$ns" link set swc1 up && ip -n "$ns" link set swc0 up &&
	ip -n "$ns" addr add 198.19.255.1/24 dev swc0 &&
	ip -n "$ns" route add 198.18.0.0/15 via 198.19.255.2 dev swc0 || sw_fail "cannot set up the namespace's routes"
printf '127.0.0.1 localhost\n198.18.2.8 db-3.example.test\n198.18.9.1 web-1.example.test\n' > "$tmp/hosts"
printf 'hosts: files\n' > "$tmp/nsswitch.conf"

# chk ARGS...: synwatch ARGS as nobody in the namespace: $tmp/out, $tmp/err, $rc
chk() {
	ip netns exec "$ns" unshare --mount sh -c '
		mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf || exit 99
		shift
		exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"' sh "$tmp" "$bin" "$@" \
		> "$tmp/out" 2> "$tmp/err"
	rc=$?
	[ $rc -ne 99 ] || sw_fail "cannot set up the mount namespace"
}
# ok DESCRIPTION ARGS...: valid, a summary, nothing on stderr
ok() {
	local what=$1
	shift
	chk "$@"
	[ $rc -eq 0 ] || sw_fail "$what: exit $rc, want 0: $(cat "$tmp/err")"
	[ -s "$tmp/err" ] && sw_fail "$what: wrote to stderr: $(cat "$tmp/err")"
	grep -q 'valid; a start would do this:' "$tmp/out" || sw_fail "$what: no summary: $(cat "$tmp/out")"
	return 0
}
# says DESCRIPTION REGEX: a line of the last summary matches (grep -E)
says() {
	grep -qE -- "$2" "$tmp/out" || sw_fail "$1: the summary has no line matching '$2':
$(cat "$tmp/out")"
}
# bad DESCRIPTION SUBSTRING ARGS...: exit 2, one line on stderr saying it, nothing on stdout
bad() {
	local what=$1 want=$2
	shift 2
	chk "$@"
	[ $rc -eq 2 ] || sw_fail "$what: exit $rc, want 2 (out: $(cat "$tmp/out") err: $(cat "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || sw_fail "$what: not one line: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || sw_fail "$what: '$(cat "$tmp/err")' does not say '$want'"
	[ -s "$tmp/out" ] && sw_fail "$what: wrote to stdout: $(cat "$tmp/out")"
	return 0
}

# a "Redis" in the namespace that counts the connections it gets
ip netns exec "$ns" "$SW_PY" - "$tmp" > /dev/null 2>&1 << 'EOF' &
import os, socket, sys
d = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(0.1)
with open(d + "/port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(d + "/port.tmp", d + "/port")
n = 0
while not os.path.exists(d + "/stop"):
    try:
        s.accept()[0].close()
        n += 1
    except socket.timeout:
        pass
with open(d + "/count.tmp", "w") as f:
    f.write(str(n))
os.rename(d + "/count.tmp", d + "/count")
EOF
lpid=$!
sw_cleanup_add "kill $lpid 2>/dev/null"
sw_wait_for 5 test -s "$tmp/port" || sw_fail "the listener did not start"
rport=$(cat "$tmp/port")

# -- the shipped example, as it is (it names no host: it probes only 198.18.0.0/15)
ok "example" --check -c "$example"
says "example" "^$example: valid"
says "example" '^location: fra1$'
says "example: databases" '^databases +34 +17 +5432,6379 +- +10s +1s +1 +critical +per_target +3\.40$'
says "example: web" '^web +513 +257 +22,443,8443 +- +30s +1s +1 +normal +aggregate +17\.10$'
says "example: lab" '^lab +768 +64 +22,8000-8010 +- +5m +2s +2 +low +aggregate +2\.56$'
says "example: total" '^total +1315 +338 +23\.06$'
says "example: rate" '^rate: the targets ask for 23\.06 probes/s, the cap is 20000 \(0\.1 %\)$'
says "example: canary" '^canaries: 198\.18\.3\.1:22 in group web$'
says "example: routes" '^routes: through swc0; gateways 198\.19\.255\.2; send path auto'
says "example: no redis" '^redis: none; output ndjson on stdout$'
grep -q '^warning' "$tmp/out" && sw_fail "the example gives warnings: $(grep '^warning' "$tmp/out")"
# -t is --check, and -q prints nothing
chk -t -q -c "$example"
[ $rc -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ] || sw_fail "-t -q: exit $rc, out '$(cat "$tmp/out")', err '$(cat "$tmp/err")'"

# -- a file of our own: exclude list, named target with a check, group check, Redis with a password
cat > "$tmp/a.yaml" << EOF
location: lab-1
rate: 100
redis: redis://mon:s3cret@127.0.0.1:$rport/0
shard: false
exclude: [198.18.1.0/30]
canaries: ["198.18.5.5:22"]
groups:
  - name: db
    hosts: [198.18.1.0/29]
    ports: ["5432/postgres", 22]
    interval: 10s
    labels: { criticality: high }
    targets:
      - { host: 198.18.1.9, port: 443, name: shop, check: { kind: https, interval: 1m } }
  - name: web
    hosts: [web-1.example.test, "198.18.2.0/24:80"]
    ports: [443]
    interval: 1s
    timeout: 300ms
    check: { kind: tls, interval: 5m }
EOF
ok "file" --check -c "$tmp/a.yaml"
says "file: exclude list" '^db +9 +5 +22,443,5432 +postgres 5432; https 443 every 1m +10s +1s +1 +high +aggregate +0\.90$'
says "file: excluded" '^excluded: 8 endpoints'
says "file: name, group check" '^web +257 +257 +80,443 +tls 80,443 every 5m +1s +300ms +1 +normal +aggregate +257\.00$'
says "file: name resolved" '^hostnames: web-1\.example\.test -> 198\.18\.9\.1$'
says "file: overload" '^warning: overloaded: the targets ask for 258 probes/s, the cap is 100: a run would stretch'
says "file: service checks" '^service checks: 262 endpoints, at most 1\.[0-9]+ checks/s'
says "file: canary not a target" '^warning: canary 198\.18\.5\.5:22 is not a target of any group: a run ignores it'
says "file: redis, password masked" "^redis: redis://mon:\*\*\*@127\.0\.0\.1:$rport/0, prefix synwatch:, prober lab-1/"
grep -q s3cret "$tmp/out" "$tmp/err" && sw_fail "the password shows: $(cat "$tmp/out")"
touch "$tmp/stop"
sw_wait_for 5 test -s "$tmp/count" || sw_fail "the listener did not stop"
[ "$(cat "$tmp/count")" = 0 ] || sw_fail "--check connected to Redis $(cat "$tmp/count") times"

# -- the command line's targets; the gateway becomes a canary, as at a start
ok "command line" --check -p 22,80/http,icmp 198.18.0.0/30 --interval 5s
says "command line" '^the command line: valid'
says "command line: group" '^cli +12 +4 +icmp,22,80 +http 80 +5s +1s +1 +normal +aggregate +2\.40$'
says "command line: canary" '^canaries: gateway 198\.19\.255\.2 \(ping\) in group canary$'
says "command line: canary group" '^canary +1 +1 +icmp +- +5s'
ok "one-shot" --check --once -p 1-10 198.18.0.0/29
says "one-shot" '^one-shot: 80 probes at up to 10000/s and 100/s to one address \(198\.18\.0\.0 has 10 endpoints\)'
# --check is exact: it is not the start of --check-ports any more
ok "with --check-ports" --check-ports 63000-63999 --check -p 80 198.18.0.1
bad "ambiguous prefix" "ambiguous option '--chec': --check or --check-ports?" --chec -p 80 198.18.0.1

# -- what a start would refuse, in its words
printf 'groups:\n  - name: web\n    hosts: [198.18.0.1]\n    intervall: 5s\n' > "$tmp/typo.yaml"
bad "unknown key" "$tmp/typo.yaml:4:5: unknown key 'intervall'" --check -c "$tmp/typo.yaml"
bad "missing file" "cannot open '$tmp/none.yaml'" --check -c "$tmp/none.yaml"
printf 'groups:\n  - name: web\n    hosts: [nope.example.test]\n    ports: [80]\n' > "$tmp/name.yaml"
bad "name that does not resolve" "group 'web': cannot resolve 'nope.example.test'" --check -c "$tmp/name.yaml"
printf 'exclude: [198.18.0.0/15]\ngroups:\n  - name: web\n    hosts: [198.18.1.0/24]\n    ports: [80]\n' > "$tmp/ex.yaml"
bad "all excluded" "no endpoints left to probe (256 excluded" --check -c "$tmp/ex.yaml"
printf 'redis: "redis://u:s3cret@198.18.0.9:99999/0"\ngroups:\n  - name: web\n    hosts: [198.18.1.1:80]\n' > "$tmp/redis.yaml"
bad "bad Redis URL" "redis 'redis://u:***@198.18.0.9:99999/0'" --check -c "$tmp/redis.yaml"
grep -q s3cret "$tmp/err" && sw_fail "the password shows in the error: $(cat "$tmp/err")"
printf 'interfaces: [nosuch0]\ngroups:\n  - name: web\n    hosts: [198.18.1.1:80]\n' > "$tmp/if.yaml"
bad "no such interface" "interface 'nosuch0': no such interface" --check -c "$tmp/if.yaml"
bad "no such user" "--user 'nosuchuser': no such user" --check -c "$example" --user nosuchuser
bad "bad port list" "8o" --check -p 80,8o 198.18.0.1
bad "bad check kind" "bogus" --check 198.18.0.1:80/bogus
bad "too many" "pass --yes" --check -p 1-20 198.18.0.0/15
bad "config and targets" "drop the TARGET" --check -c "$example" 198.18.0.1:80
sw_pass "check: the example and a file summarised, the command line, a start's errors (exit 2), as nobody, no Redis connection"
