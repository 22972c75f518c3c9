#!/bin/bash
# The service checks, end to end through the consumers: the real daemon
# checks servers in a private namespace on 127.0.0.1 and writes to a private
# redis-server; synwatch-top --once, the exporter's /metrics and JSON API,
# the status page (headless Chromium), synwatch-ctl show and synwatch-alert
# (to a local webhook receiver) must say what the checks found:
#   cache-ok    6390/redis  a healthy redis-server: up, PONG
#   cache-full  6392/redis  redis-server at maxclients (one client held):
#                           down, "ERR max number of clients reached"
#   cache-busy  6393/redis  the same, but up first and failures: 50, so it
#                           stays up while its check fails: not plainly up
#   web-soon    8443/tls    a certificate 4 days from its end: degraded, cert_expiring
#   web-old     8444/tls    a certificate expired 3 days ago: down, cert_expired
# then cache-full's client lets go: up again, and the alert's end says so.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd redis-server redis-cli curl openssl chromium "$SW_PY"
sw_require_bin synwatch synwatch-top synwatch-exporter synwatch-ctl synwatch-alert
"$SW_PY" -c 'import cryptography' 2> /dev/null ||
	sw_fail "$SW_PY has no 'cryptography' module (Debian: python3-cryptography); it makes the certificates"

sw_tmpdir dir
ns=swt-$(sw_unique cc)
sw_ns_add "$ns"
sw_redis_up "$dir"
URL=unix://$dir/r.sock
R() { redis-cli -s "$dir/r.sock" "$@"; }

# ---- the servers, in the namespace (its removal kills what is left) ----
sw_redis_up "$dir" --name ok --netns "$ns" --tcp 6390
sw_redis_up "$dir" --name full --netns "$ns" --tcp 6392 -- --maxclients 1
sw_redis_up "$dir" --name busy --netns "$ns" --tcp 6393 -- --maxclients 1
refuses() { redis-cli -s "$dir/$1.sock" ping 2>&1 | grep -q "max number of clients"; }
# hold PORT NAME: one client keeps the only connection of the server on PORT
# (if our own look at it took the slot first, the client was refused: again)
hold() {
	local try
	for try in 1 2 3 4 5; do
		ip netns exec "$ns" redis-cli -p "$1" -r -1 -i 60 ping > /dev/null 2>&1 &
		echo $! > "$dir/hold.$1"
		sw_cleanup_add "kill $! 2>/dev/null"
		sw_wait_for 3 refuses "$2" && return 0
		kill "$(cat "$dir/hold.$1")" 2> /dev/null
	done
	sw_fail "the client on $1 did not take the last connection"
}
hold 6392 full

"$SW_PY" - "$dir" << 'PY' || sw_fail "cannot make the certificates"
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
# whole days left, rounded down (common/check.h): 4, and -3 once expired
for name, cn, start, end in (("soon", "web-soon.example.test", now - datetime.timedelta(days=1),
                               now + datetime.timedelta(days=5, hours=-1)),
                              ("old", "web-old.example.test", now - datetime.timedelta(days=40),
                               now - datetime.timedelta(days=3, hours=-1))):
    k = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    c = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), False).sign(k, hashes.SHA256()))
    open(sys.argv[1] + "/" + name + ".pem", "wb").write(c.public_bytes(serialization.Encoding.PEM))
    open(sys.argv[1] + "/" + name + ".key", "wb").write(k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
tls() { # PORT NAME
	ip netns exec "$ns" openssl s_server -accept "127.0.0.1:$1" -cert "$dir/$2.pem" -key "$dir/$2.key" -www -quiet \
		> "$dir/tls.$1.log" 2>&1 < /dev/null &
	sw_cleanup_add "kill $! 2>/dev/null"
	sw_wait_for 5 sh -c "ip netns exec '$ns' ss -ltn | grep -q '127.0.0.1:$1 '" || sw_fail "openssl s_server on $1"
}
tls 8443 soon
tls 8444 old

# ---- the alerter first: its group reads new events only ----
"$SW_PY" "$SW_TOP/tests/integration/alert_sinks.py" http "$dir/hook.log" "$dir/hook.port" > "$dir/hook.err" 2>&1 &
sw_cleanup_add "kill $! 2>/dev/null"
sw_wait_for 10 test -s "$dir/hook.port" || sw_fail "the webhook receiver did not start: $(cat "$dir/hook.err")"
cat > "$dir/alert.yaml" << EOF
redis: $URL
group_wait: 1s
reminder: 0
channels:
  - { name: hook, type: webhook, url: "http://127.0.0.1:$(cat "$dir/hook.port")/hook" }
routes:
  - { match: [], channels: [hook] }
EOF
TZ=UTC "$SW_BIN/synwatch-alert" -c "$dir/alert.yaml" > "$dir/alert.err" 2>&1 &
apid=$!
sw_cleanup_add "kill $apid 2>/dev/null"
sw_wait_for 10 grep -q "reading .* in group" "$dir/alert.err" || sw_fail "synwatch-alert: $(tail -3 "$dir/alert.err")"

# ---- the prober ----
cat > "$dir/synwatch.yaml" << EOF
location: chk
redis: $URL
spill: $dir/spill.log
output: none
defaults:
  interval: 1s
  timeout: 300ms
  labels: { team: ops, version: "7" }
  metrics: per_target  # every group's check series in /metrics
groups:
  - name: cache
    check: redis
    targets:
      - { host: 127.0.0.1, port: 6390, name: cache-ok }
      - { host: 127.0.0.1, port: 6392, name: cache-full }
  - name: lenient
    check: redis
    failures: 50
    targets:
      - { host: 127.0.0.1, port: 6393, name: cache-busy }
  - name: web
    check: tls
    targets:
      - { host: 127.0.0.1, port: 8443, name: web-soon }
      - { host: 127.0.0.1, port: 8444, name: web-old }
EOF
ip netns exec "$ns" "$SW_BIN/synwatch" -c "$dir/synwatch.yaml" --keep-privileges -q > "$dir/synwatch.out" 2> "$dir/synwatch.err" &
spid=$!
sw_cleanup_add "kill $spid 2>/dev/null"
state() { [ "$(R HGET "synwatch:state:chk:127.0.0.1:$1" state)" = "$2" ]; }
states() { state 6390 up && state 6392 down && state 6393 up && state 8443 degraded && state 8444 down; }
sw_wait_for 20 states || sw_fail "the states are not as expected: $(for p in 6390 6392 6393 8443 8444; do
	echo "$p: $(R HMGET "synwatch:state:chk:127.0.0.1:$p" state reason check_error)"; done | tr '\n' ' ') $(tail -3 "$dir/synwatch.err")"
# cache-busy was up with a passing check; now its one connection is taken
hold 6393 busy
failing() { [ "$(R HGET synwatch:state:chk:127.0.0.1:6393 check_ok)" = 0 ]; }
sw_wait_for 10 failing || sw_fail "cache-busy's check did not fail"
state 6393 up || sw_fail "cache-busy is not up any more (failures: 50)"
sw_pass "the daemon wrote the checks' verdicts: $(R HMGET synwatch:state:chk:127.0.0.1:6392 reason check_error | paste -sd' ')"

# ---- synwatch-top --once, 80 columns ----
"$SW_BIN/synwatch-top" --once --redis "$URL" --width 80 > "$dir/top.txt" 2> "$dir/top.err" || sw_fail "top: $(cat "$dir/top.err")"
trouble=$(sed -n '/TROUBLE/,/^$/p' "$dir/top.txt")
grep -A1 -E '^ 127\.0\.0\.1:6392 +cache-full +cache +down ' <<< "$trouble" |
	grep -Eq '^   6392/redis  ERR max number of clients reached$' || sw_fail "top: cache-full's check line: $trouble"
grep -A1 -E '^ 127\.0\.0\.1:8444 +web-old +web +down ' <<< "$trouble" |
	grep -Eq '^   8444/tls  certificate expired 3 days ago \([0-9-]{10}\) CN=web-old' ||
	sw_fail "top: web-old's check line: $trouble"
grep -A1 -E '^ 127\.0\.0\.1:8443 +web-soon +web +degraded ' <<< "$trouble" |
	grep -Eq '^   8443/tls  certificate expires in 4 days ' || sw_fail "top: web-soon's check line: $trouble"
grep -q '6390' <<< "$trouble" && sw_fail "top: the healthy cache-ok is in trouble: $trouble"
grep -Eq '^ 127\.0\.0\.1:8444 +chk +web-old +-3d  [0-9-]{10} CN=' "$dir/top.txt" &&
	grep -Eq '^ 127\.0\.0\.1:8443 +chk +web-soon +4d  ' "$dir/top.txt" ||
	sw_fail "top: the certificates list: $(sed -n '/CERTIFICATES/,/^$/p' "$dir/top.txt")"
grep -Eq '^ 127\.0\.0\.1:6393 +chk +cache-busy ✗redis ' "$dir/top.txt" ||
	sw_fail "top: cache-busy (up, its check failing) is shown plainly: $(sed -n '/SLOWEST/,/^$/p' "$dir/top.txt")"
width=$("$SW_PY" -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1])))' "$dir/top.txt")
[ "$width" -le 80 ] || sw_fail "top --width 80 printed a line of $width columns"
sw_pass "top: $(grep -E '^   6392/redis' "$dir/top.txt" | sed 's/^ *//'); certificates in days; the busy one marked"

# ---- the exporter ----
sw_exporter_up "$dir/exp.log" base --redis "$URL" --max-age 100ms
curl -sf "$base/metrics" -o "$dir/metrics.txt" || sw_fail "GET /metrics"
"$SW_PY" - "$dir/metrics.txt" "$SW_TOP/tests/integration" << 'PY' || sw_fail "/metrics: $(grep -E '^probe_(check|ssl|tls)' "$dir/metrics.txt")"
import sys, time
sys.path.insert(0, sys.argv[2])
from consumers_check import parse_prom  # the strict text-format parser
fams = parse_prom(open(sys.argv[1]).read())
def one(fam, port, **want):
    got = [(l, v) for n, l, v in fams[fam]["samples"] if l["target"] == "127.0.0.1:%d" % port]
    assert len(got) == 1, (fam, port, got)
    l, v = got[0]
    for k, x in want.items():
        assert l.get(k) == x, (fam, port, k, l)
    return l, v
assert fams["probe_check_success"]["type"] == "gauge"
for port, check, ok in ((6390, "redis", 1), (6392, "redis", 0), (6393, "redis", 0), (8443, "tls", 1), (8444, "tls", 0)):
    l, v = one("probe_check_success", port, check=check, location="chk", team="ops", version="7")
    assert v == ok, (port, v)
# up while its check fails: probe_success 1, probe_check_success 0
assert one("probe_success", 6393)[1] == 1
now = time.time()
l, v = one("probe_ssl_earliest_cert_expiry", 8443, name="web-soon")
assert 4 * 86400 < v - now < 5 * 86400, v - now
assert one("probe_ssl_earliest_cert_expiry", 8444)[1] < now - 2 * 86400
# blackbox's label value; the target's own "version" label gives way there only
l, v = one("probe_tls_version_info", 8443, version="TLS 1.3")
assert v == 1 and l["team"] == "ops", l
assert one("probe_tls_cipher_info", 8444)[0]["cipher"].startswith("TLS_"), "cipher"
assert one("synwatch_cert_verified", 8443)[1] == 0  # self-signed
assert 0 < one("synwatch_check_duration_seconds", 6390, check="redis")[1] < 2
assert not [s for s in fams["probe_ssl_earliest_cert_expiry"]["samples"] if s[1]["target"].endswith(":6390")]
PY
grep -E '^probe_check_success\{target="127.0.0.1:6392"' "$dir/metrics.txt" > "$dir/sample.txt"
sw_pass "/metrics: $(cat "$dir/sample.txt")"

curl -sf "$base/api/summary" -o "$dir/summary.json" || sw_fail "GET /api/summary"
curl -sf "$base/api/targets?check=failing" -o "$dir/failing.json" || sw_fail "GET /api/targets?check=failing"
curl -sf "$base/api/targets?check=cert" -o "$dir/certs.json" || sw_fail "GET /api/targets?check=cert"
curl -sf "$base/api/target?t=127.0.0.1:8443&hours=1" -o "$dir/soon.json" || sw_fail "GET /api/target"
curl -sf "$base/api/target?t=127.0.0.1:6392&hours=1" -o "$dir/full.json" || sw_fail "GET /api/target"
"$SW_PY" - "$dir" << 'PY' || sw_fail "the API: $(head -c 800 "$dir/soon.json")"
import json, sys
d = sys.argv[1]
j = lambda f: json.load(open(d + "/" + f))
assert j("summary.json")["checks"] == {"checked": 5, "failing": 2, "certs": 2, "certs_expiring": 1,
                                       "certs_expired": 1}, j("summary.json")["checks"]
assert sorted(r["target"] for r in j("failing.json")["rows"]) == ["127.0.0.1:6392", "127.0.0.1:6393"]
assert sorted(r["target"] for r in j("certs.json")["rows"]) == ["127.0.0.1:8443", "127.0.0.1:8444"]
full = j("full.json")["locations"][0]
assert full["reason"] == "check_failed", full
c = full["check"]
assert (c["kind"], c["ok"], c["verdict"], c["error"]) == ("redis", False, "check_failed",
                                                         "ERR max number of clients reached"), c
assert c["tls"] is None and c["cert"] is None, c
ev = [e for e in j("full.json")["events"] if e.get("to") == "down"]
assert ev and ev[0]["check"] == "redis" and ev[0]["check_error"] == "ERR max number of clients reached", ev
c = j("soon.json")["locations"][0]["check"]
assert (c["kind"], c["ok"], c["verdict"]) == ("tls", True, "cert_expiring"), c
assert c["tls"]["version"].startswith("TLS"), c
cert = c["cert"]
assert cert["subject"] == "CN=web-soon.example.test" and cert["issuer"] == cert["subject"], cert
assert cert["sans"] == ["DNS:web-soon.example.test"] and cert["days_left"] == 4 and cert["verified"] is False, cert
assert cert["error"] == "self-signed certificate", cert
PY
sw_pass "the API: the checks' counts, ?check=failing and ?check=cert, a target's check and certificate"

# ---- the page ----
chrome() { # OUT URL
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/chrome" \
		--window-size=1280,1000 --virtual-time-budget=6000 --dump-dom "$2" > "$1" 2> "$dir/chrome.log" ||
		sw_fail "chromium on $2: $(tail -3 "$dir/chrome.log")"
}
chrome "$dir/overview.html" "$base/"
chrome "$dir/target.html" "$base/#/target/127.0.0.1:8443"
"$SW_PY" - "$dir" << 'PY' || sw_fail "the page's DOM"
import html.parser, sys
d = sys.argv[1]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []
    def handle_starttag(self, tag, attrs):
        self.stack.append(dict(attrs))
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
    def handle_data(self, data):
        if self.stack and data.strip():
            self.found.append((self.stack[-1], data.strip()))
def texts(f, **attr):
    p = P()
    p.feed(open(d + "/" + f).read())
    return [t for a, t in p.found if all(a.get(k) == v for k, v in attr.items())]
assert "redis ✗" in texts("overview.html", **{"data-mark": "check"}), texts("overview.html", **{"data-mark": "check"})
marks = texts("overview.html", **{"data-mark": "cert"})
assert "cert 4d" in marks and "cert expired" in marks, marks
assert "Service checks" in texts("overview.html"), "no checks bar"
assert texts("target.html", **{"data-field": "subject"}) == ["CN=web-soon.example.test"]
assert texts("target.html", **{"data-field": "days_left"}) == ["4 · expires in 4 days"], texts("target.html", **{"data-field": "days_left"})
assert texts("target.html", **{"data-field": "verified"}) == ["no: self-signed certificate"], texts("target.html", **{"data-field": "verified"})
assert texts("target.html", **{"data-verdict": "cert_expiring"}) == ["cert expiring"]
PY
sw_pass "the page: the overview marks the failing checks and the certificates, a target shows its certificate"

# ---- synwatch-ctl show ----
"$SW_BIN/synwatch-ctl" --redis "$URL" show 127.0.0.1:6392 --results 6 --minutes 1 > "$dir/show.txt" 2>&1 ||
	sw_fail "ctl show: $(cat "$dir/show.txt")"
grep -q '^service check from chk: redis failed (check_failed)$' "$dir/show.txt" &&
	grep -Eq '^  error +ERR max number of clients reached$' "$dir/show.txt" &&
	grep -Eq ' check +- +- +- +redis failed \(check_failed, [0-9.]+ ms\): ERR max number of clients reached$' "$dir/show.txt" ||
	sw_fail "ctl show 6392: $(cat "$dir/show.txt")"
"$SW_BIN/synwatch-ctl" --redis "$URL" show 127.0.0.1:8444 --results 4 --minutes 1 > "$dir/show2.txt" 2>&1 ||
	sw_fail "ctl show: $(cat "$dir/show2.txt")"
grep -Eq '^    subject +CN=web-old\.example\.test$' "$dir/show2.txt" &&
	grep -Eq '^    not after +[0-9-]{10} [0-9:]{8} \(expired 3 days ago\)$' "$dir/show2.txt" &&
	grep -Eq '^  tls +TLS' "$dir/show2.txt" || sw_fail "ctl show 8444: $(cat "$dir/show2.txt")"
"$SW_BIN/synwatch-ctl" --redis "$URL" --json show 127.0.0.1:8443 --results 1 --minutes 1 > "$dir/show.json" ||
	sw_fail "ctl --json show"
"$SW_PY" -c 'import json,sys; c=json.load(open(sys.argv[1]))["states"][0]["check"]; assert c["cert"]["days_left"] == 4, c' \
	"$dir/show.json" || sw_fail "ctl --json show: $(cat "$dir/show.json")"
sw_pass "ctl show: $(grep -E '^  error' "$dir/show.txt" | sed 's/^ *//'); the certificate; the results list"

# ---- the alerts ----
msgs() { "$SW_PY" "$SW_TOP/tests/integration/alert_check.py" messages "$dir/hook.log" /dev/null /dev/null | cut -f2; }
told() { msgs | grep -Eq "$1"; }
for want in '^DOWN cache-full \(127\.0\.0\.1:6392, redis\): ERR max number of clients reached$' \
	'^DOWN web-old \(127\.0\.0\.1:8444, tls\): certificate expired 3 days ago$' \
	'^DEGRADED web-soon \(127\.0\.0\.1:8443, tls\): certificate expires in 4 days$'; do
	sw_wait_for 10 told "$want" || sw_fail "no alert '$want': $(msgs)"
done
msgs | grep -q 'cache-busy' && sw_fail "an alert for cache-busy, which is up: $(msgs)"
sw_pass "alerts: $(msgs | grep cache-full)"

# cache-full's client lets go: its check passes, it is up, the alert is over
kill "$(cat "$dir/hold.6392")"
sw_wait_for 10 state 6392 up || sw_fail "cache-full did not come up: $(R HMGET synwatch:state:chk:127.0.0.1:6392 state check_error)"
resolved='^RESOLVED cache-full \(127\.0\.0\.1:6392, redis\): up again after [0-9a-z]+; the redis check passes$'
sw_wait_for 10 told "$resolved" || sw_fail "no RESOLVED: $(msgs)"
"$SW_BIN/synwatch-top" --once --redis "$URL" --width 80 > "$dir/top2.txt" || sw_fail "top"
sed -n '/TROUBLE/,/^$/p' "$dir/top2.txt" | grep -q 6392 && sw_fail "top: cache-full still in trouble: $(cat "$dir/top2.txt")"
sw_wait_for 5 sh -c "curl -sf '$base/metrics' | grep -q '^probe_check_success{target=\"127.0.0.1:6392\".*} 1$'" ||
	sw_fail "probe_check_success of 6392 did not become 1"
sw_pass "it comes back: $(msgs | grep '^RESOLVED')"

kill -INT $spid
wait $spid
r=$?
[ $r -eq 0 ] || sw_fail "synwatch exited $r: $(tail -3 "$dir/synwatch.err")"
kill "$apid"
wait "$apid" 2> /dev/null || sw_fail "synwatch-alert did not exit 0 on SIGTERM: $(tail -3 "$dir/alert.err")"
grep -q "AddressSanitizer\|runtime error" "$dir/alert.err" "$dir/synwatch.err" "$dir/exp.log" &&
	sw_fail "sanitizer: $(grep -h -A5 'Sanitizer\|runtime error' "$dir/alert.err" "$dir/synwatch.err" "$dir/exp.log")"
sw_pass "the prober and the alerter stop cleanly"
