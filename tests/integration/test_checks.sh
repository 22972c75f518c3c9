#!/bin/bash
# Service checks against real servers from Debian's packages, each started
# by the test in a target namespace of its own (198.18.9.0/24 is local there)
# and probed from a prober namespace through a veth pair, healthy and in the
# states port monitoring exists to catch:
#   PostgreSQL 15: healthy (TLS), at max_connections, in recovery (a standby
#     with hot_standby off, TLS);
#   redis-server: healthy, at maxclients, requirepass (right and wrong AUTH);
#   OpenSSH's sshd: healthy, SIGSTOPped (the kernel still answers the SYN),
#     past MaxStartups;
#   Exim: STARTTLS (smtp, submission), TLS on connect (smtps), no STARTTLS
#     (submission and starttls: required fail), at smtp_accept_max, a
#     STARTTLS that fails (no certificate);
#   Dovecot: IMAP and POP3 with STARTTLS, IMAPS, POP3S;
#   vsftpd: AUTH TLS, at max_clients;  memcached;
#   openssl s_server: a valid, an expired and a wrong-name certificate of the
#     test's own CA, and fewer days left than cert_warn_days;
#   nginx: 503, a request and status of the config's, 400 to a Redis PING,
#     generic send/expect;
#   the wrong service on a port, and a closed port (no check).
# One 'synwatch --once -T' run takes the checks without options, one
# monitoring run with a YAML config those with options (auth, verify,
# ca_file, cert_warn_days, sni, request/status/host, send/expect, starttls);
# every verdict is asserted with the server's own words (checks_check.py).
# Exim, not Postfix, as the MTA: one process in the foreground (-bdf) from a
# config of the test's own (-C) with every path in it; Postfix needs its
# master, queue tree and chroots set up per instance.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_require_cmd ip ss openssl redis-server redis-cli nginx exim4 dovecot vsftpd memcached ssh-keygen runuser unshare
PG=/usr/lib/postgresql/15/bin
[ -x "$PG/postgres" ] || sw_fail "no PostgreSQL 15 in $PG; install the test packages with: tools/deps.sh test"
[ -x /usr/sbin/sshd ] || sw_fail "no /usr/sbin/sshd; install the test packages with: tools/deps.sh test"
sw_require_bin synwatch
t_begin=$(sw_now_ms)

out=
sw_tmpdir out
chmod 755 "$out" # the servers' own users (postgres, Debian-exim) read their files here
id=$(sw_unique ck)
pns=swt-$id-p tns=swt-$id-t
sw_ns_add "$pns"
sw_ns_add "$tns"
# Every server and client the test starts runs in a namespace: they are
# stopped by namespace, gently (a stopped one continued to take its TERM)
# before sw_ns_add's SIGKILL, never by a pid, which may have been reused by
# then (pid_max is 32768 here: another test's process could have it).
ns_stop() { # NS
	local pids
	pids=$(ip netns pids "$1" 2> /dev/null)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -CONT $pids 2> /dev/null
	# shellcheck disable=SC2086
	kill -TERM $pids 2> /dev/null
	sw_wait_for 3 eval "[ -z \"\$(ip netns pids '$1' 2> /dev/null)\" ]"
}
sw_cleanup_add "ns_stop '$tns'"
sw_veth "$pns" "$tns" "$id" 198.19.253.1/30 198.19.253.2/30
ip -n "$pns" route add 198.18.9.0/24 via 198.19.253.2
ip -n "$tns" route add local 198.18.9.0/24 dev lo
A=198.18.9
# (not for a background server: '$!' would be a subshell, not the server)
in_t() { ip netns exec "$tns" "$@"; }

# ---- certificates: the test's CA; valid (30 days), expired (10 days ago), wrong name
ca=$out/ca
mkdir -p "$ca/new"
: > "$ca/index.txt"
cat > "$ca/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca]
default_ca = test
[test]
database = $ca/index.txt
new_certs_dir = $ca/new
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
[leaf]
basicConstraints = CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
authorityKeyIdentifier = keyid
EOF
export SAN=DNS:unused # $ENV::SAN must have a value whenever the file is read
ossl() { openssl "$@" > "$out/openssl.log" 2>&1 || sw_fail "openssl $1 failed: $(cat "$out/openssl.log")"; }
ossl req -config "$ca/openssl.cnf" -x509 -extensions v3_ca -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$ca/ca.key" -out "$ca/ca.pem" -days 3 -subj "/CN=synwatch test CA"
leaf() { # NAME CN SAN CA-ARGS...: $ca/NAME.pem and .key, signed by the test CA
	local n=$1 cn=$2 san=$3
	shift 3
	ossl req -config "$ca/openssl.cnf" -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ca/$n.key" -out "$ca/$n.csr" -subj "/CN=$cn"
	SAN=$san ossl ca -config "$ca/openssl.cnf" -batch -notext -extensions leaf -cert "$ca/ca.pem" \
		-keyfile "$ca/ca.key" -in "$ca/$n.csr" -out "$ca/$n.pem" "$@"
}
leaf valid valid.synwatch.test "DNS:valid.synwatch.test,IP:$A.12,IP:$A.15" -days 30
leaf expired expired.synwatch.test "DNS:expired.synwatch.test,IP:$A.13" \
	-startdate "$(date -u -d '-40 days' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)"
leaf other other.synwatch.test "DNS:other.synwatch.test" -days 30
leaf mx mx.synwatch.test "DNS:mx.synwatch.test" -days 30
leaf mail mail.synwatch.test "DNS:mail.synwatch.test" -days 30
leaf pg pg.synwatch.test "DNS:pg.synwatch.test,IP:$A.1" -days 30
openssl x509 -checkend 0 -noout -in "$ca/expired.pem" > /dev/null && sw_fail "the expired certificate has not expired"
chmod 644 "$ca"/*.key "$ca"/*.pem

# ---- PostgreSQL 15: one initdb, copied (below) for three clusters
mkdir -p "$out/pg"
chown postgres: "$out/pg"
runuser -u postgres -- "$PG/initdb" -D "$out/pg/1" -U postgres -A trust -E UTF8 --locale=C --no-sync \
	--no-instructions > "$out/pg/initdb.log" 2>&1 &
initdb_pid=$!

# ---- redis-server: healthy, maxclients 1, requirepass (on two addresses: right and wrong AUTH)
redis_args=(--protected-mode no --port 6379)
sw_redis_up "$out" --name rok --netns "$tns" -- "${redis_args[@]}" --bind "$A.3"
sw_redis_up "$out" --name rfull --netns "$tns" -- "${redis_args[@]}" --bind "$A.4" --maxclients 1
sw_redis_up "$out" --name rauth --netns "$tns" --ping '-a s3cret --no-auth-warning' -- "${redis_args[@]}" \
	--bind "$A.5" "$A.6" --requirepass s3cret

# ---- sshd: its own config and host key; /run/sshd (privilege separation) on a
# tmpfs of a mount namespace of its own, so that nothing is left on the host
ssh-keygen -q -t ed25519 -N '' -C synwatch-test -f "$out/ssh_host_key" || sw_fail "ssh-keygen failed"
sshd_up() { # NAME ADDR [EXTRA-LINE]
	cat > "$out/sshd-$1.conf" <<EOF
${3:-}
ListenAddress $2:22
HostKey $out/ssh_host_key
PidFile $out/sshd-$1.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
StrictModes no
EOF
	# shellcheck disable=SC2016 # $1 is the inner shell's
	ip netns exec "$tns" unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=755,size=64k swt /run &&
		mkdir -m 755 /run/sshd && /usr/sbin/sshd -t -f "$1" && exec /usr/sbin/sshd -D -e -f "$1"' \
		sh "$out/sshd-$1.conf" > "$out/sshd-$1.log" 2>&1 &
	# exec all the way: $! is sshd
	eval "sshd_$1=$!"
}
sshd_up ok "$A.7"
sshd_up stop "$A.8"
sshd_up busy "$A.17" "MaxStartups 1" # one connection before authentication (held below)

# ---- Exim (exim4-daemon-light): $A.10 offers STARTTLS (and TLS on connect on
# 465), $A.11 does not, $A.16 takes one connection at a time (smtp_accept_max,
# held below), $A.18 offers STARTTLS and fails it; its logs and spool belong
# to its user, Debian-exim
exim_up() { # NAME ADDR CERT-NAME|no [EXTRA-LINE]
	local d=$out/exim-$1
	mkdir -p "$d/log" "$d/spool"
	chown Debian-exim: "$d/log" "$d/spool"
	{
		cat <<EOF
primary_hostname = $1.synwatch.test
exim_user = Debian-exim
exim_group = Debian-exim
keep_environment =
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = <; $2.25 ; $2.587 ; $2.465 ; $2.2525
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = refuse
${4:-}
EOF
		if [ "$3" != no ]; then
			printf 'tls_advertise_hosts = *\ntls_certificate = %s\ntls_privatekey = %s\n' "$ca/$3.pem" "$ca/$3.key"
			printf 'daemon_smtp_ports = 25 : 587 : 465\ntls_on_connect_ports = 465\n'
		else
			printf 'tls_advertise_hosts =\n'
		fi
		printf 'begin acl\nrefuse:\n  deny\n'
	} > "$d/exim.conf"
	ip netns exec "$tns" exim4 -C "$d/exim.conf" -bdf > "$d/stderr.log" 2>&1 &
}
exim_up mx "$A.10" mx
exim_up mx4 "$A.18" gone # offers STARTTLS with a certificate that is not there
exim_up mx2 "$A.11" no
exim_up mx3 "$A.16" no "smtp_accept_max = 1"

# ---- openssl s_server: valid ($A.12, and $A.15 for cert_warn_days), expired, wrong name
tls_up() { # ADDR CERT-NAME
	ip netns exec "$tns" openssl s_server -accept "$1:443" -cert "$ca/$2.pem" -key "$ca/$2.key" -www -quiet \
		> "$out/s_server-$1.log" 2>&1 < /dev/null &
}
tls_up "$A.12" valid
tls_up "$A.15" valid
tls_up "$A.13" expired
tls_up "$A.14" other

# ---- nginx on $A.20: 503 on :80, /healthz 200 on :8080, 200 on :8081 and
# :8082 (generic send/expect), and :6379, where a Redis check finds HTTP
mkdir -p "$out/nginx/tmp"
cat > "$out/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $out/nginx/tmp/body;
	proxy_temp_path $out/nginx/tmp/proxy;
	fastcgi_temp_path $out/nginx/tmp/fastcgi;
	uwsgi_temp_path $out/nginx/tmp/uwsgi;
	scgi_temp_path $out/nginx/tmp/scgi;
	server { listen $A.20:80; return 503; }
	server { listen $A.20:8080; location = /healthz { return 200 "ok\n"; } location / { return 404; } }
	server { listen $A.20:8081; listen $A.20:8082; listen $A.20:6379; return 200 "ok\n"; }
}
EOF
ip netns exec "$tns" nginx -p "$out/nginx" -e "$out/nginx/error.log" -c "$out/nginx/nginx.conf" > "$out/nginx/stderr.log" 2>&1 &

# ---- Dovecot on $A.30: IMAP and POP3 with STARTTLS, IMAPS, POP3S
d=$out/dovecot
mkdir -p "$d/run" "$d/state"
cat > "$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = imap pop3
listen = $A.30
ssl = yes
ssl_cert = <$ca/mail.pem
ssl_key = <$ca/mail.key
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = password=unused-$RANDOM$RANDOM
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
EOF
ip netns exec "$tns" dovecot -F -c "$d/dovecot.conf" > "$d/stderr.log" 2>&1 &

# ---- vsftpd: $A.31 with AUTH TLS; $A.32 with max_clients 1 (held below)
vsftpd_up() { # ADDR EXTRA-LINE
	mkdir -p "$out/vsftpd-empty"
	cat > "$out/vsftpd-$1.conf" <<EOF
listen=YES
listen_address=$1
background=NO
anonymous_enable=NO
local_enable=YES
ssl_enable=YES
rsa_cert_file=$ca/mail.pem
rsa_private_key_file=$ca/mail.key
secure_chroot_dir=$out/vsftpd-empty
xferlog_enable=NO
$2
EOF
	ip netns exec "$tns" vsftpd "$out/vsftpd-$1.conf" > "$out/vsftpd-$1.log" 2>&1 &
}
vsftpd_up "$A.31" ""
vsftpd_up "$A.32" max_clients=1

# ---- memcached on $A.33
ip netns exec "$tns" memcached -l "$A.33" -p 11211 -U 0 -u memcache > "$out/memcached.log" 2>&1 &

# ---- PostgreSQL, continued: three clusters from the one initdb: $A.1
# healthy with TLS, $A.2 with max_connections 3 (filled below) without TLS,
# $A.9 with TLS, a standby with hot_standby off and no primary, in recovery
# for good (its error comes over TLS, $A.2's in the clear after an 'N')
wait $initdb_pid || sw_fail "initdb failed: $(tail -5 "$out/pg/initdb.log")"
cp -a "$out/pg/1" "$out/pg/2"
cp -a "$out/pg/1" "$out/pg/3"
runuser -u postgres -- touch "$out/pg/3/standby.signal"
for n in 1 3; do
	install -o postgres -m 600 "$ca/pg.pem" "$out/pg/$n/server.crt"
	install -o postgres -m 600 "$ca/pg.key" "$out/pg/$n/server.key"
done
pg_conf() { # N ADDR SETTINGS...
	local n=$1 addr=$2 s
	shift 2
	{
		printf "listen_addresses = '%s'\nport = 5432\nunix_socket_directories = '%s'\nfsync = off\n" \
			"$addr" "$out/pg/$n"
		for s in "$@"; do printf '%s\n' "$s"; done
	} >> "$out/pg/$n/postgresql.conf"
	printf 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\n' > "$out/pg/$n/pg_hba.conf"
}
pg_conf 1 "$A.1" "ssl = on"
pg_conf 2 "$A.2" "max_connections = 3" "superuser_reserved_connections = 0" "cluster_name = 'full-$id'"
pg_conf 3 "$A.9" "ssl = on" "hot_standby = off"
for n in 1 2 3; do
	sw_cleanup_add "runuser -u postgres -- '$PG/pg_ctl' -D '$out/pg/$n' -m immediate -w stop"
	# a standby never gets ready: -w only for the others
	wait_opt=-w
	[ $n = 3 ] && wait_opt=-W
	in_t runuser -u postgres -- "$PG/pg_ctl" -D "$out/pg/$n" -l "$out/pg/$n.log" $wait_opt -t 20 start \
		> "$out/pg/ctl-$n.log" 2>&1 &
	eval "pgctl_$n=$!"
done
# shellcheck disable=SC2154
wait "$pgctl_1" || sw_fail "PostgreSQL 1 did not start: $(tail -5 "$out/pg/1.log")"
# shellcheck disable=SC2154
wait "$pgctl_2" || sw_fail "PostgreSQL 2 did not start: $(tail -5 "$out/pg/2.log")"
# shellcheck disable=SC2154
wait "$pgctl_3" || sw_fail "PostgreSQL 3 did not start: $(tail -5 "$out/pg/3.log")"

# ---- every listener up
want_listen="$A.1:5432 $A.2:5432 $A.9:5432 $A.3:6379 $A.4:6379 $A.5:6379 $A.6:6379 $A.7:22 $A.8:22 $A.17:22
 $A.10:25 $A.10:587 $A.10:465 $A.11:25 $A.11:587 $A.11:2525 $A.16:25 $A.18:25 $A.12:443 $A.13:443 $A.14:443 $A.15:443 $A.20:80 $A.20:8080 $A.20:8081 $A.20:8082
 $A.20:6379 $A.30:143 $A.30:993 $A.30:110 $A.30:995 $A.31:21 $A.32:21 $A.33:11211"
all_listening() {
	local have w
	have=" $(in_t ss -Hltn | awk '{ print $4 }' | tr '\n' ' ') "
	for w in $want_listen; do
		[[ $have == *" $w "* ]] || { missing_listen=$w; return 1; }
	done
}
missing_listen=
sw_wait_for 10 all_listening || sw_fail "nothing listens on $missing_listen (logs in the servers' files: $(ls "$out"))"
sw_info "servers up ($(($(sw_now_ms) - t_begin)) ms)"

# ---- the broken states: PostgreSQL, Redis, Exim, vsftpd and sshd full, sshd hung
for _ in 1 2 3; do
	# as root: pg_hba trusts local connections; no runuser, so that $! is psql
	ip netns exec "$tns" "$PG/psql" -h "$out/pg/2" -U postgres -d postgres -X -q -c 'select pg_sleep(300)' \
		> /dev/null 2>&1 &
done
# counted by their process titles: a probe connection would take a slot a
# holder needs
pg_held() { [ "$(pgrep -fc "^postgres: full-$id: postgres postgres \[local\]")" -eq 3 ]; }
sw_wait_for 10 pg_held || sw_fail "PostgreSQL 2 did not fill its 3 connections: $(pgrep -fa "full-$id")"
"$PG/psql" -h "$out/pg/2" -U postgres -d postgres -X -tAc 'select 1' 2>&1 | grep -q 'too many clients' ||
	sw_fail "PostgreSQL 2 is not at max_connections"
hold() { # ADDR PORT [BYTES]: a client that holds one connection once it has a reply (to BYTES)
	ip netns exec "$tns" "$SW_PY" -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(sys.argv[3].encode())
print("held", s.recv(200), flush=True)
time.sleep(300)
' "$1" "$2" "${3:-}" > "$out/hold-$1-$2.log" 2>&1 &
	sw_wait_for 5 grep -q held "$out/hold-$1-$2.log" || sw_fail "cannot hold a connection to $1:$2"
}
raw_reply() { # ADDR PORT [BYTES]: the first reply (to BYTES), from the target namespace
	in_t "$SW_PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
s.sendall(sys.argv[3].encode())
print(s.recv(200).decode(errors="replace").strip())
' "$1" "$2" "${3:-}" 2>&1
}
hold "$A.4" 6379 $'PING\r\n'
full=$(raw_reply "$A.4" 6379 $'PING\r\n')
[ "$full" = "-ERR max number of clients reached" ] || sw_fail "redis-server rfull is not at maxclients: '$full'"
hold "$A.16" 25
full=$(raw_reply "$A.16" 25)
[[ $full == "421 "* ]] || sw_fail "Exim at $A.16 is not at smtp_accept_max: '$full'"
hold "$A.32" 21
full=$(raw_reply "$A.32" 21)
[[ $full == "421 "* ]] || sw_fail "vsftpd at $A.32 is not at max_clients: '$full'"
hold "$A.17" 22
full=$(raw_reply "$A.17" 22)
[ "$full" = "Exceeded MaxStartups" ] || sw_fail "sshd at $A.17 is not past MaxStartups: '$full'"
# shellcheck disable=SC2154
kill -STOP "$sshd_stop"
sw_wait_for 2 eval "[ \"\$(awk '{ print \$3 }' /proc/$sshd_stop/stat)\" = T ]" || sw_fail "sshd $sshd_stop did not stop"

# ---- the checks: one --once run (no options), one monitoring run (options).
# The http target has no name: its address goes as Host: (nginx answers an
# HTTP/1.1 request without one with 400, not the 503 expected).
cat > "$out/targets.txt" <<EOF
$A.1:5432/postgres
$A.2:5432/postgres
$A.1:5433/postgres
$A.9:5432/postgres
$A.16:25/smtp
$A.18:25/smtp
$A.3:6379/redis
$A.4:6379/redis
$A.7:22/ssh
$A.8:22/ssh
$A.17:22/ssh
$A.10:25/smtp
$A.10:587/submission
$A.10:465/smtps
$A.11:587/submission
$A.11:25/ssh
$A.13:443/tls
$A.20:80/http
$A.20:6379/redis
$A.30:143/imap
$A.30:993/imaps
$A.30:110/pop3
$A.30:995/pop3s
$A.31:21/ftp
$A.32:21/ftp
$A.33:11211/memcached
EOF
group() { # NAME ENDPOINT CHECK-MAPPING
	printf '  - name: %s\n    hosts: ["%s"]\n    check: %s\n' "$1" "$2" "$3"
}
{
	printf 'location: lab\noutput: ndjson\ndefaults: { interval: 2s, timeout: 500ms, retries: 1 }\ngroups:\n'
	group redis-auth "$A.5:6379" '{ kind: redis, auth: s3cret }'
	group redis-wrongauth "$A.6:6379" '{ kind: redis, auth: wrong }'
	group tls-valid "$A.12:443" "{ kind: tls, verify: true, ca_file: \"$ca/ca.pem\" }"
	group tls-warn "$A.15:443" "{ kind: tls, verify: true, ca_file: \"$ca/ca.pem\", cert_warn_days: 60 }"
	group tls-name "$A.14:443" \
		"{ kind: tls, verify: true, ca_file: \"$ca/ca.pem\", sni: www.synwatch.test }"
	group http-healthz "$A.20:8080" '{ kind: http, request: "GET /healthz HTTP/1.1", status: [2], host: www.synwatch.test }'
	group generic-ok "$A.20:8081" "{ kind: generic, send: 'GET / HTTP/1.0\\r\\n\\r\\n', expect: '^HTTP/1\\.[01] 200' }"
	group generic-nomatch "$A.20:8082" "{ kind: generic, send: 'GET / HTTP/1.0\\r\\n\\r\\n', expect: '^SSH-' }"
	group smtp-required "$A.11:2525" '{ kind: smtp, starttls: required }'
} > "$out/synwatch.yaml"

ip netns exec "$pns" "$SW_BIN/synwatch" -c "$out/synwatch.yaml" --source-ports 63000-63099 \
	--check-ports 63100-63199 > "$out/monitor.ndjson" 2> "$out/monitor.err" &
mpid=$! # if the test fails first: stopped with everything of the prober namespace
ip netns exec "$pns" "$SW_BIN/synwatch" --once --timeout 1s --retries 1 -T "$out/targets.txt" \
	> "$out/once.ndjson" 2> "$out/once.err"
rc=$?
sw_info "synwatch --once done ($(($(sw_now_ms) - t_begin)) ms)"
[ $rc -eq 0 ] || sw_fail "synwatch --once exited $rc: $(tail -5 "$out/once.err")"
monitor_done() { # a check line for each of the 9 endpoints of the config
	[ "$(grep '"type":"check"' "$out/monitor.ndjson" | grep -o '"ip":"[^"]*","port":[0-9]*' | sort -u | wc -l)" -ge 9 ]
}
sw_wait_for 10 monitor_done || sw_fail "the monitoring run did not check all 9 endpoints: $(tail -5 "$out/monitor.err")"
kill -TERM $mpid
sw_wait_for 10 eval "! sw_pid_alive $mpid" || sw_fail "synwatch did not exit on SIGTERM"
wait $mpid
rc=$?
[ $rc -eq 0 ] || sw_fail "the monitoring synwatch exited $rc: $(tail -5 "$out/monitor.err")"
sw_info "checks done ($(($(sw_now_ms) - t_begin)) ms)"

# ---- the verdicts
cat > "$out/expect.txt" <<EOF
# PostgreSQL: an authentication request (SCRAM for an unknown role) over TLS; at max_connections, its FATAL
$A.1:5432 syn=open check=postgres check_ok=true 'banner=authentication: SASL' tls_version~TLSv1\.[23] cert_subject=CN=pg.synwatch.test
$A.2:5432 syn=open check_ok=false 'check_error=FATAL: sorry, too many clients already (53300)' !tls_version
$A.9:5432 syn=open check_ok=false 'check_error=FATAL: the database system is not accepting connections (57P03)' tls_version~TLSv1\.[23]
# a check runs only after an answered SYN
$A.1:5433 syn=closed nocheck
# Redis: PONG; at maxclients; AUTH right and wrong
$A.3:6379 syn=open check_ok=true banner=PONG
$A.4:6379 syn=open check_ok=false 'check_error=ERR max number of clients reached'
$A.5:6379 syn=open check_ok=true banner=PONG
$A.6:6379 syn=open check_ok=false 'check_error=WRONGPASS invalid username-password pair or user is disabled.'
# sshd: its identification string; SIGSTOPped, the kernel still completes the handshake
$A.7:22 syn=open check_ok=true banner~SSH-2\.0-OpenSSH_[0-9]
$A.8:22 syn=open check_ok=false 'check_error=no SSH identification string within 2s' !banner
$A.17:22 syn=open check_ok=false "check_error=connection closed by the server after 22 bytes, before the SSH identification string: 'Exceeded MaxStartups'"
# Exim: STARTTLS on smtp and submission; without it, submission and starttls: required fail
$A.10:25 syn=open check=smtp check_ok=true code=220 'banner~mx\.synwatch\.test ESMTP Exim 4\.' tls_version~TLSv1\.[23] cert_subject=CN=mx.synwatch.test
$A.10:587 syn=open check=submission check_ok=true code=220 tls_version~TLSv1\.[23] cert_subject=CN=mx.synwatch.test
$A.10:465 syn=open check=smtps check_ok=true code=220 'banner~mx\.synwatch\.test ESMTP Exim 4\.' tls_version~TLSv1\.[23]
$A.11:587 syn=open check_ok=false 'check_error=STARTTLS required but not offered' !tls_version
$A.11:2525 syn=open check=smtp check_ok=false 'check_error=STARTTLS required but not offered' !tls_version
# at smtp_accept_max, Exim's 421 greeting
$A.16:25 syn=open check=smtp check_ok=false code=421 'check_error=421 Too many concurrent SMTP connections; please try again later.'
# a STARTTLS that fails: Exim offers it, and cannot load its certificate
$A.18:25 syn=open check=smtp check_ok=false 'check_error=STARTTLS refused: 454 TLS currently unavailable' !tls_version
# the wrong service on a port
$A.11:25 syn=open check=ssh check_ok=false 'check_error~not SSH: 220 mx2\.synwatch\.test ESMTP Exim 4\.'
$A.20:6379 syn=open check=redis check_ok=false 'check_error=not Redis: HTTP/1.1 400 Bad Request'
# TLS: valid and verified against the test's CA; expired; the wrong name; fewer days than cert_warn_days
$A.12:443 syn=open check=tls check_ok=true cert_verified=true cert_name_ok=true cert_days_left=29..30 cert_subject=CN=valid.synwatch.test 'cert_issuer=CN=synwatch test CA' !verdict !cert_error
$A.13:443 syn=open check=tls cert_days_left=-11..-10 verdict=cert_expired cert_verified=false
$A.14:443 syn=open check=tls check_ok=false "check_error=certificate name mismatch: the certificate is not for 'www.synwatch.test'" cert_verified=true cert_name_ok=false
$A.15:443 syn=open check=tls check_ok=true cert_verified=true cert_days_left=29..30 verdict=cert_expiring
# Dovecot: STARTTLS on IMAP and POP3 (STLS), implicit TLS on 993 and 995
$A.30:143 syn=open check=imap check_ok=true 'banner~OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*\] Dovecot' tls_version~TLSv1\.[23] cert_subject=CN=mail.synwatch.test
$A.30:993 syn=open check=imaps check_ok=true 'banner~OK \[CAPABILITY IMAP4rev1 .*\] Dovecot' tls_version~TLSv1\.[23]
$A.30:110 syn=open check=pop3 check_ok=true 'banner=+OK Dovecot (Debian) ready.' tls_version~TLSv1\.[23]
$A.30:995 syn=open check=pop3s check_ok=true 'banner=+OK Dovecot (Debian) ready.' tls_version~TLSv1\.[23]
# vsftpd: AUTH TLS; at max_clients, its 421
$A.31:21 syn=open check=ftp check_ok=true code=220 'banner=(vsFTPd 3.0.3)' tls_version~TLSv1\.[23]
$A.32:21 syn=open check=ftp check_ok=false code=421 'check_error=421 There are too many connected users, please try later.' !tls_version
# memcached
$A.33:11211 syn=open check=memcached check_ok=true 'banner~VERSION 1\.6\.'
# HTTP: a status of a class that is not up; a request and status of the config's
$A.20:80 syn=open check=http check_ok=false 'check_error=HTTP/1.1 503 Service Temporarily Unavailable' code=503
$A.20:8080 syn=open check=http check_ok=true 'banner=HTTP/1.1 200 OK' code=200
# generic send/expect
$A.20:8081 syn=open check=generic check_ok=true 'banner=HTTP/1.1 200'
$A.20:8082 syn=open check=generic check_ok=false 'check_error~connection closed by the server after [0-9]+ bytes, before the matching reply'
EOF
"$SW_PY" "$SW_TOP/tests/integration/checks_check.py" "$out/expect.txt" "$out/once.ndjson" "$out/monitor.ndjson" \
	${SW_VERBOSE:+--show} || sw_fail "wrong verdicts (above)"
sw_pass "checks: every verdict right on real PostgreSQL, Redis, sshd, Exim, Dovecot, vsftpd, memcached, s_server and nginx ($(($(sw_now_ms) - t_begin)) ms)"
