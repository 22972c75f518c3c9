#!/bin/bash
# Hostnames are re-resolved periodically: a name that moves to another
# address gives one address_changed event naming both addresses, the new
# address is probed and the old one no longer. The name lives in a private
# /etc/hosts bind-mounted in a mount namespace of the test's own.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root
sw_fleet_test rs out --spec "open=4,ports=80,layout=dense" --seed 3
read -r a1 a2 _ < <(awk -F'\t' 'NR > 1 && $3 == "open" { printf "%s ", $1 } END { print "" }' "$out/truth.tsv")
[ -n "$a1" ] && [ -n "$a2" ] || sw_fail "the fleet has fewer than two open endpoints"
printf '127.0.0.1 localhost\n%s web-1.example.test\n' "$a1" > "$out/hosts"
cat > "$out/synwatch.yaml" <<EOF2
location: lab-2
resolve_interval: 1s
defaults: { interval: 500ms, timeout: 200ms, retries: 0 }
groups:
  - name: web
    hosts: [web-1.example.test]
    ports: [80]
EOF2
ip netns exec "$pns" unshare --mount sh -c \
	"mount --bind '$out/hosts' /etc/hosts && exec '$SW_BIN/synwatch' -c '$out/synwatch.yaml' --no-latency" \
	> "$out/out.ndjson" 2> "$out/err.txt" &
spid=$!
sw_cleanup_add "kill -9 $spid 2>/dev/null"
probed() { grep -c "\"type\":\"result\".*\"ip\":\"$1\"" "$out/out.ndjson"; }
up() { [ "$(probed "$1")" -ge "$2" ]; }
sw_wait_for 5 up "$a1" 2 || sw_fail "'web-1.example.test' ($a1) not probed: $(cat "$out/err.txt")"
# the name moves (rewritten in place: the bind mount holds the inode)
printf '127.0.0.1 localhost\n%s web-1.example.test\n' "$a2" > "$out/hosts"
sw_wait_for 5 grep -q '"kind":"address_changed"' "$out/out.ndjson" || sw_fail "no address_changed event"
grep '"kind":"address_changed"' "$out/out.ndjson" | grep -q "\"ip\":\"$a2\".*\"old_ip\":\"$a1\"" ||
	sw_fail "address_changed does not name both addresses: $(grep address_changed "$out/out.ndjson")"
[ "$(grep -c '"kind":"address_changed"' "$out/out.ndjson")" -eq 1 ] || sw_fail "more than one address_changed event"
grep '"kind":"address_changed"' "$out/out.ndjson" | grep -q '"name":"web-1.example.test"' ||
	sw_fail "address_changed does not carry the name"
sw_wait_for 3 up "$a2" 2 || sw_fail "the new address $a2 is not probed"
before=$(probed "$a1")
sleep 1.5
[ "$(probed "$a1")" -le $((before + 1)) ] || sw_fail "the old address $a1 is still probed"
kill -TERM $spid
wait $spid || sw_fail "synwatch exited $? on SIGTERM"
sw_pass "resolve: web-1.example.test moved from $a1 to $a2, one event, probing followed"
