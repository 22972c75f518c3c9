#!/bin/bash
# Forged replies during a scan: SYN-ACKs and RSTs with wrong acknowledgement
# numbers, bare RSTs and ICMP unreachables quoting SYNs never sent, spoofed
# from the fleet's own endpoint addresses toward the prober's source ports.
# None may become a result: filtered endpoints stay filtered, closed ones
# closed, and the rejected replies are counted.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_fleet_test fg out --spec "open=200,closed=200,filtered=400,ports=80+443" --seed 11
awk 'NR > 1 { print $1 ":" $2 }' "$out/truth.tsv" > "$out/targets.txt"
# spoof every endpoint, the filtered ones above all: a forgery accepted for
# one of them would turn it open, closed or unreachable
awk 'NR > 1 { print $1, $2 }' "$out/truth.tsv" > "$out/spoof.txt"
n=$(wc -l < "$out/targets.txt")

# the forger runs for the whole scan (800 endpoints at 200/s = 4 s, plus the timeout)
ip netns exec "$tns" "$SW_PY" "$SW_TOP/tests/integration/forge.py" 198.19.255.1 "$out/spoof.txt" 7 3000 --garbage \
	> "$out/forge.txt" 2>&1 &
fpid=$!
sw_cleanup_add "kill $fpid 2>/dev/null"
# and a flood: hping3 as fast as it goes, SYN-ACKs acknowledging a fixed
# guess, from a filtered endpoint to a port of our range
victim=$(awk -F'\t' 'NR > 1 && $3 == "filtered" { print $1; exit }' "$out/truth.tsv")
ip netns exec "$tns" timeout 5 hping3 --flood -q -S -A -L 12345 -M 777 -a "$victim" -s 80 -k -p 61500 \
	198.19.255.1 > "$out/hping.txt" 2>&1 &
hpid=$!
sw_cleanup_add "kill $hpid 2>/dev/null"
sleep 0.5
ip netns exec "$pns" "$SW_BIN/synwatch" --once --rate 200 --timeout 1s --retries 1 -T "$out/targets.txt" \
	> "$out/results.ndjson" 2> "$out/stderr.txt"
rc=$?
wait $fpid
wait $hpid
cat "$out/stderr.txt" "$out/forge.txt" >&2
[ $rc -eq 0 ] || sw_fail "synwatch exited $rc"
forged=$(awk '/^forged/ { print $2 }' "$out/forge.txt")
[ "${forged:-0}" -gt 10000 ] || sw_fail "the forger sent only ${forged:-0} packets"
"$SW_TOP/tests/integration/check_results.py" "$out/truth.tsv" "$out/results.ndjson" || sw_fail "a forged reply became a result"
bad=$(sed -n 's/.*bad cookie \([0-9]*\),.*/\1/p' "$out/stderr.txt")
# three of four forgeries reach the cookie check (SYN-ACK, RST-ACK, ICMP);
# bare RSTs are rejected by the RFC 9293 rule before it, and are counted too
[ "${bad:-0}" -gt $((forged / 2)) ] || sw_fail "only ${bad:-0} of $forged forged replies counted as bad cookies"
flood=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out/hping.txt")
sw_info "hping3 flood: ${flood:-?} packets; synwatch counted $bad bad cookies"
[ "${bad:-0}" -gt "$((forged / 2 + ${flood:-0} / 2))" ] || sw_fail "the flood's forgeries were not counted"
sw_pass "forge: $forged forged replies and ${flood:-?} flooded, $bad rejected, $n endpoints still classified exactly"
