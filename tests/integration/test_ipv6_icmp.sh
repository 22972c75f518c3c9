#!/bin/bash
# IPv6 targets and ICMP echo (ping) checks, classified as exactly as IPv4:
# a prober namespace and a target namespace joined by veth; the target owns
# 2001:db8:1::/64 (documentation prefix) and 198.18.7.0/24 as local blocks;
# listeners, nftables drops and rejects (ICMPv6 codes) on chosen addresses,
# and echo dropped for some hosts.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
id=$(sw_unique v6)
pns="swt-$id-p" tns="swt-$id-t"
sw_tmpdir out
sw_ns_add "$pns"
sw_ns_add "$tns"
sw_veth "$pns" "$tns" "$id" 198.19.254.1/30 198.19.254.2/30
ip -n "$pns" -6 addr add 2001:db8:ff::1/64 dev "v$id" nodad
ip -n "$tns" -6 addr add 2001:db8:ff::2/64 dev "w$id" nodad
ip -n "$pns" route add 198.18.7.0/24 via 198.19.254.2
ip -n "$pns" -6 route add 2001:db8:1::/64 via 2001:db8:ff::2
ip -n "$tns" route add local 198.18.7.0/24 dev lo
ip -n "$tns" -6 route add local 2001:db8:1::/64 dev lo

: > "$out/listener.log"
ip netns exec "$tns" /usr/bin/python3 -c '
import socket, time
ss = []
for fam, a, p in ((socket.AF_INET6, "::", 80), (socket.AF_INET, "0.0.0.0", 80)):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_IP, 19, 1)  # IP_FREEBIND, answer for the whole local block
    s.bind((a, p)); s.listen(1024); ss.append(s)
print("ready", flush=True)
time.sleep(120)
' > "$out/listener.log" 2>&1 &
sw_cleanup_add "kill $! 2>/dev/null"
sw_wait_for 5 grep -q ready "$out/listener.log" || sw_fail "listeners did not start"
ip netns exec "$tns" nft -f - <<'NFT' || sw_fail "cannot load nft rules"
table inet swt {
	chain input {
		type filter hook input priority 0;
		ip6 daddr 2001:db8:1::10 tcp dport 80 drop
		ip6 daddr 2001:db8:1::11 tcp dport 80 reject with icmpv6 type admin-prohibited
		ip6 daddr 2001:db8:1::12 tcp dport 80 reject with icmpv6 type addr-unreachable
		ip6 daddr 2001:db8:1::20 icmpv6 type echo-request drop
		ip daddr 198.18.7.20 icmp type echo-request drop
		ip daddr 198.18.7.21 icmp type echo-request reject with icmp type host-prohibited
	}
}
NFT
# ICMPv6 codes: 1 admin prohibited, 3 address unreachable; ICMP: 10 host prohibited
cat > "$out/truth.tsv" <<'TRUTH'
ip	port	kind	code	delay
2001:db8:1::1	80	open	-	-
2001:db8:1::2	80	open	-	-
2001:db8:1::1	81	closed	-	-
2001:db8:1::10	80	filtered	-	-
2001:db8:1::11	80	unreach	1	-
2001:db8:1::12	80	unreach	3	-
2001:db8:1::1	0	open	-	-
2001:db8:1::20	0	filtered	-	-
198.18.7.1	0	open	-	-
198.18.7.1	80	open	-	-
198.18.7.20	0	filtered	-	-
198.18.7.21	0	unreach	10	-
TRUTH
awk 'NR > 1 { p = $2 == 0 ? "icmp" : $2; if ($1 ~ /:/) print "[" $1 "]:" p; else print $1 ":" p }' \
	"$out/truth.tsv" > "$out/targets.txt"
ip netns exec "$pns" "$SW_BIN/synwatch" --once --timeout 300ms --retries 1 -T "$out/targets.txt" \
	> "$out/results.ndjson" 2> "$out/stderr.txt"
rc=$?
cat "$out/stderr.txt" >&2
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc"
"$SW_TOP/tests/integration/check_results.py" "$out/truth.tsv" "$out/results.ndjson" || sw_fail "wrong results"
grep -q '"rtt_approx"' "$out/results.ndjson" && sw_fail "approximate RTTs: our IPv6 SYNs or pings not seen on the wire"
grep -q '"ip":"2001:db8:1::11","port":80,"state":"unreachable".*"icmp_type":1,' "$out/results.ndjson" ||
	sw_fail "the ICMPv6 unreachable does not carry type 1"

# the same in monitoring mode with --ping: the host rollup sees the ping
ip netns exec "$pns" timeout -s INT 4 "$SW_BIN/synwatch" --ping -p 80 2001:db8:1::1 198.18.7.1 --interval 500ms \
	--timeout 100ms --retries 0 --no-latency > "$out/mon.ndjson" 2> "$out/mon.err"
grep -q '"type":"event","kind":"state".*"ip":"2001:db8:1::1","port":0,.*"to":"up"' "$out/mon.ndjson" ||
	sw_fail "the IPv6 ping target did not come up: $(head -3 "$out/mon.ndjson")"
sw_pass "ipv6+icmp: $(($(wc -l < "$out/truth.tsv") - 1)) endpoints classified exactly"
