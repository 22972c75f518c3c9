#!/bin/bash
# make demo, unattended: the fleet of 10,000 endpoints, Redis, synwatch,
# the exporter and the chaos loop come up, synwatch-top shows the whole
# fleet, and on exit nothing is left: no namespace, process or file.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_tmpdir out
SW_BIN=$SW_BIN timeout 120 "$SW_TOP/tools/demo.sh" --no-top --seconds 20 > "$out/demo.txt" 2>&1
rc=$?
[ $rc -eq 0 ] || sw_fail "demo exited $rc: $(tail -5 "$out/demo.txt")"
grep -Eq '^ demo-lab +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +10000$' "$out/demo.txt" ||
	sw_fail "synwatch-top does not show 10000 targets: $(grep -A3 LOCATION "$out/demo.txt")"
up=$(awk '$1 == "demo-lab" && NF == 7 { print $2; exit }' "$out/demo.txt")
[ "${up:-0}" -gt 5000 ] || sw_fail "only ${up:-0} targets up after 20 s"
grep -q "status page:  http://127.0.0.1:" "$out/demo.txt" || sw_fail "no status page URL printed"
grep -q "everything removed" "$out/demo.txt" || sw_fail "no clean-up message"
# its own SIGTERM at the end is not a death (test_prober_gone kills it)
grep -q "SYNWATCH DIED" "$out/demo.txt" && sw_fail "a normal run says synwatch died: $(grep -A3 DIED "$out/demo.txt")"
grep -q "log is kept" "$out/demo.txt" && sw_fail "a normal run keeps synwatch's log"
# the path up to the first /redis.sock, not the last one on that line
dir=$(sed -n 's/.*redis socket: \([^ ]*\)\/redis.sock .*/\1/p' "$out/demo.txt")
[ -n "$dir" ] && [ ! -e "$dir" ] || sw_fail "the demo's directory '$dir' is left"
ip netns list | grep -q 'swf-demo' && sw_fail "a demo namespace is left: $(ip netns list | grep swf-demo)"
pgrep -f "synwatch-demo" > /dev/null && sw_fail "a demo process is left: $(pgrep -af synwatch-demo)"
sw_pass "demo: 10000 endpoints monitored ($up up after 20 s), everything removed"
