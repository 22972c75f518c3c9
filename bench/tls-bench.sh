# shellcheck shell=bash
# What the TLS benchmarks share (bench/tls.sh, bench/checker-tls.sh,
# bench/checks.sh): the server they check, the crypto floor, driving
# blackbox_exporter, a quiet wait on a shared machine, and the statistics
# of their key=value lines. Sourced, after tests/integration/lib.sh (sw_fail,
# sw_cleanup_add, sw_wait_for).

# build_each WHAT HINT BUILD V...: BUILD V (a command; its output in
# $tmp/build-V.log) for each V, logging each that fails with its first
# errors and HINT (what to install); $built: the ones that built, fails
# when none did
build_each() {
	local what=$1 hint=$2 build=$3 v
	shift 3
	built=""
	for v in "$@"; do
		# shellcheck disable=SC2154 # tmp: bench_out's
		if "$build" "$v" > "$tmp/build-$v.log" 2>&1; then
			built="$built $v"
		else
			log "cannot build the $v $what ($hint): $(grep -m 3 -i error "$tmp/build-$v.log")"
		fi
	done
	built=${built# }
	[ -n "$built" ] || sw_fail "no $what could be built"
}

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

# tls_server_up DIR NAME [OPTION...]: nginx with a P-256 certificate from a
# private CA. Makes DIR/ca.pem (the CA to verify with) and a leaf for NAME,
# starts nginx from DIR/nginx and waits until it answers. Sets port (nginx
# as Debian ships it), port_ke (the same, also allowing psk_ke) and
# nginx_pid (its master; nginx_ticks sums the workers); nginx goes at exit
# (sw_cleanup_add). Options:
#   --listen ADDR   the address it listens on (default 127.0.0.1; 0.0.0.0
#                   in a fleet's target namespace answers for every
#                   address of its block)
#   --port P        the TLS port (default: a free one)
#   --plain P       also plain TCP on P (HTTP, 204 to any request)
#   --workers N     worker processes (default 1: the client under test
#                   keeps a core to itself where it can)
#   --netns NS      run it in network namespace NS
# Without --netns nothing listens outside 127.0.0.1.
# tls_server_block PORT [DIRECTIVE]: an nginx server of tls_server_up's
# on PORT (with DIRECTIVE too), from its locals listen and dir
tls_server_block() {
	cat << EOF
	server {
		listen $listen:$1 ssl backlog=4096;
		ssl_certificate $dir/leaf.pem;
		ssl_certificate_key $dir/leaf.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ecdh_curve X25519:prime256v1;
		${2:-}
		return 204;
	}
EOF
}

tls_server_up() {
	local dir=$1 name=$2 listen=127.0.0.1 plain='' workers=1 ns=() plain_server=''
	port=''
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--listen) listen=$2 ;;
		--port) port=$2 ;;
		--plain) plain=$2 ;;
		--workers) workers=$2 ;;
		--netns) ns=(ip netns exec "$2") ;;
		*) sw_fail "tls_server_up: unknown option '$1'" ;;
		esac
		shift 2
	done

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

	[ -n "$port" ] || port=$(free_port)
	port_ke=$(free_port)
	[ "$port" = "$port_ke" ] && port_ke=$(free_port)
	[ -n "$plain" ] && plain_server="server { listen $listen:$plain backlog=4096; return 204; }"
	mkdir -p "$dir/nginx/tmp"
	# $port is nginx as Debian ships it (tickets living 5 min, the
	# default ssl_session_timeout); $port_ke also allows psk_ke
	# (AllowNoDHEKEX), a resumption without a new key exchange, which
	# OpenSSL servers refuse by default.
	cat > "$dir/nginx/nginx.conf" << EOF
worker_processes $workers;
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
$(tls_server_block "$port")
$(tls_server_block "$port_ke" "ssl_conf_command Options AllowNoDHEKEX;")
	$plain_server
}
EOF
	nginx -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" ||
		sw_fail "nginx rejects its configuration: $(tail -3 "$dir/nginx/error.log")"
	# ip netns exec execs nginx: $! is its master either way
	"${ns[@]}" nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" &
	nginx_pid=$!
	sw_cleanup_add "kill $nginx_pid; wait $nginx_pid"
	sw_wait_for 10 "${ns[@]}" sh -c "echo | openssl s_client -connect 127.0.0.1:$port -servername $name \
		-CAfile $dir/ca.pem -verify_return_error -brief 2>&1 | grep -q 'Verification: OK'" ||
		sw_fail "nginx does not answer TLS on 127.0.0.1:$port: $(tail -3 "$dir/nginx/error.log")"
}

# nginx_ticks: CPU time of tls_server_up's nginx workers, in clock ticks
nginx_ticks() {
	local p t=0
	for p in $(pgrep -P "$nginx_pid"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null || echo 0)))
	done
	echo "$t"
}

# crypto_floor SECONDS: the handshake's crypto alone, `openssl speed` of
# X25519 and P-256 ECDSA (it times with the process's user CPU, not the
# wall clock). Sets x25519_us (one key pair or one shared secret), verify_us
# and sign_us; the raw output goes to $OUT/speed.txt.
crypto_floor() {
	local speed
	speed=$(openssl speed -seconds "$1" ecdhx25519 ecdsap256 2> /dev/null)
	echo "$speed" > "$OUT/speed.txt"
	x25519_us=$(echo "$speed" | awk '/ecdh \(X25519\)/ { printf "%.1f", 1e6 / $NF }')
	verify_us=$(echo "$speed" | awk '/ecdsa \(nistp256\)/ { printf "%.1f", 1e6 / $NF }')
	# shellcheck disable=SC2034 # for the callers' reports
	sign_us=$(echo "$speed" | awk '/ecdsa \(nistp256\)/ { printf "%.1f", 1e6 / $(NF - 1) }')
	if [ -z "$x25519_us" ] || [ -z "$verify_us" ]; then
		sw_fail "openssl speed said nothing usable: $(head -3 "$OUT/speed.txt")"
	fi
}

# blackbox_up DIR NAME [NETNS]: prometheus-blackbox-exporter on a free port
# of 127.0.0.1, in network namespace NETNS when given; stopped at exit. Its
# modules (DIR/blackbox.yml): tcp_connect, a TCP connection; tls, the same
# with a TLS handshake that verifies the chain against DIR/ca.pem and the
# name NAME (tls_server_up's server). Sets bb_pid and bb_url
# (http://127.0.0.1:PORT). Returns 1, saying why, when it is not installed
# or does not start.
blackbox_up() {
	local dir=$1 name=$2 bport ns=()
	[ -n "${3:-}" ] && ns=(ip netns exec "$3")
	if ! command -v prometheus-blackbox-exporter > /dev/null; then
		echo "prometheus-blackbox-exporter is not installed (tools/deps.sh bench)" >&2
		return 1
	fi
	cat > "$dir/blackbox.yml" << EOF
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
  tls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: $dir/ca.pem
        server_name: $name
EOF
	bport=$(free_port)
	"${ns[@]}" prometheus-blackbox-exporter --config.file="$dir/blackbox.yml" \
		--web.listen-address="127.0.0.1:$bport" --log.level=warn > "$dir/blackbox.log" 2>&1 &
	bb_pid=$!
	sw_cleanup_add "kill $bb_pid; wait $bb_pid"
	bb_url=http://127.0.0.1:$bport
	if ! sw_wait_for 10 "${ns[@]}" curl -sf -o /dev/null "$bb_url/metrics"; then
		echo "blackbox_exporter did not start: $(tail -3 "$dir/blackbox.log")" >&2
		return 1
	fi
}

# blackbox_probe DIR URLS PARALLEL [NETNS]: every /probe URL in the file
# URLS once, PARALLEL requests in flight (curl --parallel, in NETNS when
# given; the answers go to DIR/probes/). Prints one line: n (probes), ok
# (answers saying probe_success 1), cpu_us, user_us and sys_us
# (blackbox_exporter's CPU per probe, µs), per_s (probes per second of wall
# time). curl's own CPU is not counted.
blackbox_probe() {
	local dir=$1 urls=$2 par=$3 ns=() a b t0 t1 n ok
	[ -n "${4:-}" ] && ns=(ip netns exec "$4")
	rm -rf "$dir/probes"
	mkdir -p "$dir/probes"
	awk -v d="$dir/probes" '{ printf "url = \"%s\"\noutput = \"%s/%d\"\n", $0, d, NR }' "$urls" > "$dir/curl.cfg"
	n=$(wc -l < "$urls")
	a=$(awk '{ print $14, $15 }' "/proc/$bb_pid/stat")
	t0=$(date +%s.%N)
	"${ns[@]}" curl -s --parallel --parallel-max "$par" -K "$dir/curl.cfg" 2> /dev/null
	t1=$(date +%s.%N)
	b=$(awk '{ print $14, $15 }' "/proc/$bb_pid/stat")
	ok=$(grep -lx 'probe_success 1' -r "$dir/probes" | wc -l)
	echo "$a $b" | awk -v hz="$(getconf CLK_TCK)" -v n="$n" -v ok="$ok" -v t0="$t0" -v t1="$t1" '{
		k = 1e6 / hz / n
		printf "n=%d ok=%d cpu_us=%.1f user_us=%.1f sys_us=%.1f per_s=%.0f\n", n, ok,
			k * ($3 + $4 - $1 - $2), k * ($3 - $1), k * ($4 - $2), n / (t1 - t0) }'
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

# median [DECIMALS] of the numbers on stdin (default 0 decimals), "–" when
# there are none
# shellcheck disable=SC2120 # DECIMALS is optional
median() {
	sort -g | awk -v f="%.${1:-0}f\n" '{ v[NR] = $1 } END { if (!NR) print "–"; else if (NR % 2) printf f, v[(NR + 1) / 2];
		else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# minimum [DECIMALS] of the numbers on stdin
# shellcheck disable=SC2120 # DECIMALS is optional
minimum() {
	sort -g | awk -v f="%.${1:-0}f\n" 'NR == 1 { printf f, $1 } END { if (!NR) print "–" }'
}

# The repeats of a run are the lines of $OUT/NAME-MODE.txt:
# med NAME MODE KEY: "median (min)" of KEY over them; med1: the median
# alone; one: KEY of the first; "–" when the run did not happen
med() {
	[ -s "$OUT/$1-$2.txt" ] || { echo "–"; return; }
	echo "$(field "$3" < "$OUT/$1-$2.txt" | median) ($(field "$3" < "$OUT/$1-$2.txt" | minimum))"
}
med1() {
	[ -s "$OUT/$1-$2.txt" ] || { echo "–"; return; }
	field "$3" < "$OUT/$1-$2.txt" | median
}
one() {
	[ -s "$OUT/$1-$2.txt" ] || { echo "–"; return; }
	head -1 "$OUT/$1-$2.txt" | field "$3"
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
