# shellcheck shell=bash
# What the TLS benchmarks share (bench/tls.sh, bench/checker-tls.sh): the
# server they check, a quiet wait on a shared machine, and the statistics of
# their key=value lines. Sourced, after tests/integration/lib.sh (sw_fail,
# sw_cleanup_add, sw_wait_for).

# free_port: a TCP port no socket uses, below the kernel's ephemeral range
# (the clients' own connections take ports there, and a listener cannot
# bind one that a connection holds) and so away from synwatch's source-port
# ranges too
free_port() {
	local p lo
	lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
	[ "$lo" -gt 20000 ] || lo=32768
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (lo - 10000)))
		[ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	sw_fail "no free port"
}

# tls_server_up DIR NAME: nginx on 127.0.0.1 with a P-256 certificate from a
# private CA. Makes DIR/ca.pem (the CA to verify with) and a leaf for NAME,
# starts nginx from DIR/nginx and waits until it answers. Sets port (nginx
# as Debian ships it), port_ke (the same, also allowing psk_ke) and
# nginx_pid; nginx goes at exit (sw_cleanup_add). Nothing listens outside
# 127.0.0.1.
tls_server_up() {
	local dir=$1 name=$2

	# A private CA and a leaf for $name, both P-256, as a small hosting
	# provider's internal PKI would issue them; the chain the client
	# verifies is leaf <- CA, so a full handshake checks two ECDSA
	# signatures (the leaf's and the CertificateVerify).
	(
		cd "$dir" || exit 1
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
			-days 30 -subj "/CN=synwatch bench CA" -addext basicConstraints=critical,CA:true \
			-addext keyUsage=critical,keyCertSign,cRLSign &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
				-subj "/O=synwatch bench/CN=$name" &&
			printf '%s\n' basicConstraints=CA:false keyUsage=critical,digitalSignature \
				extendedKeyUsage=serverAuth "subjectAltName=DNS:$name,IP:127.0.0.1" > leaf.ext &&
			openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
				-extfile leaf.ext -out leaf.pem
	) > "$dir/certs.log" 2>&1 || sw_fail "cannot make the certificates: $(tail -3 "$dir/certs.log")"

	port=$(free_port)
	port_ke=$(free_port)
	[ "$port" = "$port_ke" ] && port_ke=$(free_port)
	mkdir -p "$dir/nginx/tmp"
	# One worker: the client under test keeps a core to itself where it
	# can. $port is nginx as Debian ships it (tickets living 5 min, the
	# default ssl_session_timeout); $port_ke also allows psk_ke
	# (AllowNoDHEKEX), a resumption without a new key exchange, which
	# OpenSSL servers refuse by default.
	cat > "$dir/nginx/nginx.conf" << EOF
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; multi_accept on; }
http {
	access_log off;
	client_body_temp_path $dir/nginx/tmp;
	proxy_temp_path $dir/nginx/tmp;
	fastcgi_temp_path $dir/nginx/tmp;
	uwsgi_temp_path $dir/nginx/tmp;
	scgi_temp_path $dir/nginx/tmp;
	server {
		listen 127.0.0.1:$port ssl backlog=4096;
		ssl_certificate $dir/leaf.pem;
		ssl_certificate_key $dir/leaf.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ecdh_curve X25519:prime256v1;
		return 204;
	}
	server {
		listen 127.0.0.1:$port_ke ssl backlog=4096;
		ssl_certificate $dir/leaf.pem;
		ssl_certificate_key $dir/leaf.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ecdh_curve X25519:prime256v1;
		ssl_conf_command Options AllowNoDHEKEX;
		return 204;
	}
}
EOF
	nginx -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" ||
		sw_fail "nginx rejects its configuration: $(tail -3 "$dir/nginx/error.log")"
	nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" &
	nginx_pid=$!
	sw_cleanup_add "kill $nginx_pid; wait $nginx_pid"
	sw_wait_for 10 sh -c "echo | openssl s_client -connect 127.0.0.1:$port -servername $name -CAfile $dir/ca.pem \
		-verify_return_error -brief 2>&1 | grep -q 'Verification: OK'" ||
		sw_fail "nginx does not answer TLS on 127.0.0.1:$port: $(tail -3 "$dir/nginx/error.log")"
}

# busy: percent of all CPUs busy over half a second, for the report
busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep 0.5
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}

# field KEY < LINE: the value of KEY=VALUE (quotes dropped)
field() {
	awk -v k="$1" 'match($0, "(^| )" k "=(\"[^\"]*\"|[^ ]*)") {
		v = substr($0, RSTART, RLENGTH)
		sub(/^ /, "", v)
		v = substr(v, length(k) + 2)
		gsub(/"/, "", v)
		print v
	}'
}

# median of the numbers on stdin, "–" when there are none
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "–"; else if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2];
		else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# minimum of the numbers on stdin
minimum() {
	sort -g | awk 'NR == 1 { printf "%.0f\n", $1 } END { if (!NR) print "–" }'
}

# wait_quiet: the machine is shared; before each repeat wait until other
# work keeps it at most $QUIET_MAX % busy, for at most $QUIET_BUDGET seconds
# in all (quiet_waited counts them), and note what it was in $OUT/busy.txt
quiet_waited=0
wait_quiet() {
	local b t0=$SECONDS
	while :; do
		b=$(busy)
		[ "$b" -le "$QUIET_MAX" ] && break
		[ $((quiet_waited + SECONDS - t0)) -ge "$QUIET_BUDGET" ] && break
	done
	quiet_waited=$((quiet_waited + SECONDS - t0))
	echo "$b" >> "$OUT/busy.txt"
}
