#!/bin/bash
# One-shot scan over 127.0.0.0/8 inside a private namespace: open (listener),
# closed (nothing listens), filtered (nft drop) and unreachable (nft reject
# with an ICMP code) endpoints must come out exactly so, with RTTs.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
id=$(sw_unique lo)
ns="swt-$id"
out=$(mktemp -d)
sw_cleanup_add "rm -rf '$out'"
ip netns add "$ns" || sw_fail "cannot create namespace $ns"
sw_cleanup_add "ip netns del '$ns'"
ip -n "$ns" link set lo up

# listeners: 127.0.0.1:8080 and 127.0.0.2:8081
: > "$out/listener.log"
ip netns exec "$ns" /usr/bin/python3 -c '
import socket, sys, time
ss = []
for a, p in (("127.0.0.1", 8080), ("127.0.0.2", 8081)):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, p)); s.listen(1024); ss.append(s)
print("ready", flush=True)
time.sleep(600)
' > "$out/listener.log" 2>&1 &
lpid=$!
sw_cleanup_add "kill $lpid 2>/dev/null"
for _ in $(seq 50); do grep -q ready "$out/listener.log" && break; sleep 0.1; done

ip netns exec "$ns" nft -f - <<'NFT' || sw_fail "cannot load nft rules"
table inet swt {
	chain input {
		type filter hook input priority 0;
		ip daddr 127.0.0.3 tcp dport 9000 drop
		ip daddr 127.0.0.4 tcp dport 9001 reject with icmp type port-unreachable
		ip daddr 127.0.0.5 tcp dport 9002 reject with icmp type host-unreachable
	}
}
NFT

cat > "$out/truth.tsv" <<'TRUTH'
ip	port	kind	code	delay
127.0.0.1	8080	open	-	-
127.0.0.2	8081	open	-	-
127.0.0.1	8082	closed	-	-
127.0.0.2	22	closed	-	-
127.0.0.3	9000	filtered	-	-
127.0.0.4	9001	unreach	3	-
127.0.0.5	9002	unreach	1	-
TRUTH

ip netns exec "$ns" "$SW_BIN/synwatch" --once --timeout 300ms --retries 1 --output ndjson \
	127.0.0.1:8080 127.0.0.2:8081 127.0.0.1:8082 127.0.0.2:22 127.0.0.3:9000 127.0.0.4:9001 127.0.0.5:9002 \
	> "$out/results.ndjson" 2> "$out/stderr.txt"
rc=$?
cat "$out/stderr.txt"
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc"
"$SW_TOP/tests/integration/check_results.py" "$out/truth.tsv" "$out/results.ndjson" || sw_fail "wrong results"
# our SYNs are seen on lo, so no RTT is approximate; a retry happened for the filtered one
grep -q '"rtt_approx"' "$out/results.ndjson" && sw_fail "approximate RTTs on loopback"
grep -q 'filtered 1, error 0' "$out/stderr.txt" || sw_fail "summary does not count one filtered"
grep -q '"port":9000,"state":"filtered","rtt_us":null,"attempt":1' "$out/results.ndjson" ||
	sw_fail "filtered endpoint was not retried once"

# text output and a name from a target file
printf '127.0.0.1:8080 Loopback web - 8080\n# comment\n\n127.0.0.1:8082\n' > "$out/targets.txt"
ip netns exec "$ns" "$SW_BIN/synwatch" --once -q --timeout 300ms --output text -T "$out/targets.txt" \
	> "$out/text.txt" || sw_fail "text run failed"
grep -Eq '^127\.0\.0\.1:8080 +open +[0-9.]+ ms +ttl 64  Loopback web - 8080$' "$out/text.txt" ||
	{ cat "$out/text.txt"; sw_fail "text line for the open port"; }
grep -Eq '^127\.0\.0\.1:8082 +closed' "$out/text.txt" || sw_fail "text line for the closed port"
sw_pass "loopback: 7 endpoints classified exactly"
