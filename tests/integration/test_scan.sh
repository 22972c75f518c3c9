#!/bin/bash
# One-shot scan of a namespace fleet of a few thousand endpoints of every
# kernel kind (open, closed, filtered, unreachable with several ICMP codes)
# plus slow ones behind the responder: every endpoint must come out exactly
# as the fleet was built, slow ones with an RTT of at least their delay.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_fleet_test sc out --spec "open=1500,closed=1000,filtered=300,unreach=250@0+1+3+10+13,slow=60@fixed:20ms,ports=22+80+443" \
	--seed 7
# every endpoint of the truth, plus as many again that the fleet leaves closed
awk 'NR > 1 { print $1 ":" $2 }' "$out/truth.tsv" > "$out/targets.txt"
n=$(wc -l < "$out/targets.txt")
sw_info "$n endpoints in fleet '$name'"

ip netns exec "$pns" "$SW_BIN/synwatch" --once --rate 20000 --timeout 500ms --retries 1 -T "$out/targets.txt" \
	> "$out/results.ndjson" 2> "$out/stderr.txt"
rc=$?
cat "$out/stderr.txt" >&2
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc"
[ "$(wc -l < "$out/results.ndjson")" -eq "$n" ] || sw_fail "$(wc -l < "$out/results.ndjson") results for $n endpoints"
late_us=$(sw_fleet_late_us "$name") || exit 1
"$SW_TOP/tests/integration/check_results.py" --late-us "$late_us" --timeout-ms 500 "$out/truth.tsv" "$out/results.ndjson" || sw_fail "wrong results"
grep -q '"rtt_approx"' "$out/results.ndjson" && sw_fail "approximate RTTs: our SYNs were not all seen on the wire"
grep -q 'bad cookie 0, stale 0, duplicate 0, malformed 0' "$out/stderr.txt" || sw_fail "unexpected rejected replies"
grep -q 'dropped 0, interface drops 0' "$out/stderr.txt" || sw_fail "pcap dropped packets"
# the fleet's gateway is on a veth (Ethernet): the SYNs leave as frames to
# its MAC, all but one per second, which keeps the kernel's ARP entry checked
read -r sent frames secs < <(sed -n 's/.* in \([0-9.]*\) s: sent \([0-9]*\) probes (.*, \([0-9]*\) as Ethernet frames).*/\2 \3 \1/p' \
	"$out/stderr.txt")
[ -n "${frames:-}" ] || sw_fail "no Ethernet frame count in the summary"
through_ip=$((sent - frames))
[ "$frames" -gt 0 ] && [ "$through_ip" -le $((${secs%.*} + 2)) ] ||
	sw_fail "$frames of $sent probes as Ethernet frames in $secs s: expected all but about one per second"

# --send-path ip: every SYN through the IP stack, the same results
ip netns exec "$pns" "$SW_BIN/synwatch" --once --send-path ip --rate 20000 --timeout 500ms --retries 1 \
	-T "$out/targets.txt" > "$out/results-ip.ndjson" 2> "$out/stderr-ip.txt" || sw_fail "synwatch --send-path ip failed"
grep -q ', 0 as Ethernet frames)' "$out/stderr-ip.txt" || sw_fail "--send-path ip sent Ethernet frames: $(head -3 "$out/stderr-ip.txt")"
late_us=$(sw_fleet_late_us "$name") || exit 1
"$SW_TOP/tests/integration/check_results.py" --late-us "$late_us" --timeout-ms 500 "$out/truth.tsv" "$out/results-ip.ndjson" ||
	sw_fail "wrong results with --send-path ip"
sw_pass "scan: $n fleet endpoints classified exactly, $frames of $sent SYNs as Ethernet frames; the same through the IP stack"
