#!/bin/bash
# Bad input: one line naming what is wrong, exit 2, nothing sent. Runs
# without privileges where it can (as nobody), so that usage errors are
# shown before any socket is opened.
set -u
. "$(dirname "$0")/lib.sh"
bin="$SW_BIN/synwatch"
tmp=$(mktemp -d)
sw_cleanup_add "rm -rf '$tmp'"
chmod 755 "$tmp"

expect_usage() { # DESCRIPTION EXPECTED-SUBSTRING ARGS...
	local what=$1 want=$2
	shift 2
	"$bin" "$@" > "$tmp/out" 2> "$tmp/err"
	local rc=$?
	[ $rc -eq 2 ] || sw_fail "$what: exit $rc, want 2 ($(cat "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || sw_fail "$what: not one line: $(cat "$tmp/err")"
	grep -qF -- "$want" "$tmp/err" || sw_fail "$what: '$(cat "$tmp/err")' does not say '$want'"
	[ -s "$tmp/out" ] && sw_fail "$what: wrote to stdout"
	return 0
}

expect_usage "no targets" "no targets" --once
expect_usage "no targets, monitoring" "no targets" --interval 5s
expect_usage "unknown flag" "unknown option '--bogus'" --once --bogus 127.0.0.1
expect_usage "missing value" "needs a value" --once 127.0.0.1 --rate
expect_usage "bad rate" "--rate 'fast'" --once --rate fast 127.0.0.1:80
expect_usage "zero rate" "--rate '0'" --once --rate 0 127.0.0.1:80
expect_usage "bad timeout" "--timeout '1 s'" --once --timeout "1 s" 127.0.0.1:80
expect_usage "bad retries" "--retries '99'" --once --retries 99 127.0.0.1:80
expect_usage "bad port range" "--source-ports '2000-1000'" --once --source-ports 2000-1000 127.0.0.1:80
expect_usage "bad output" "--output 'xml'" --once --output xml 127.0.0.1:80
# a location names Redis keys and files: no space, no ':'
expect_usage "bad location" "--location 'fra 1': expected letters" --once --location "fra 1" 127.0.0.1:80
expect_usage "location with a colon" "--location 'a:b'" --interval 5s --location a:b 127.0.0.1:80
expect_usage "empty location" "--location ''" --once --location "" 127.0.0.1:80
# a group's setting with -c would be lost: the file's groups have their own
printf 'groups:\n  - name: g\n    hosts: ["127.0.0.1:22"]\n' > "$tmp/g.yaml"
expect_usage "--interval with -c" "--interval does not go with -c: set interval under defaults: or a group in" \
	--check -c "$tmp/g.yaml" --interval 5s
expect_usage "--crit with -c" "--crit does not go with -c" --check -c "$tmp/g.yaml" --crit 1s
expect_usage "bad ports" "8o" --once -p 80,8o 127.0.0.1
expect_usage "no ports" "127.0.0.1" --once 127.0.0.1
expect_usage "bad target" "999.1.1.1" --once -p 80 999.1.1.1
expect_usage "host bits" "198.18.1.0/16" --once -p 80 198.18.1.0/16
expect_usage "too many" "--max-targets" --once -p 1-65535 198.18.0.0/15
expect_usage "needs --yes" "pass --yes" --once -p 1-20 198.18.0.0/15
expect_usage "too many even with --yes" "--max-targets" --once --yes -p 1-200 198.18.0.0/15
expect_usage "bad per-host rate" "--per-host-rate 'x'" --once --per-host-rate x -p 80 127.0.0.1
printf '127.0.0.1:80\n127.0.0.1:99999\n' > "$tmp/t.txt"
expect_usage "bad target file line" "$tmp/t.txt:2:" --once -T "$tmp/t.txt"
expect_usage "missing target file" "cannot open '$tmp/nope'" --once -T "$tmp/nope"
printf '198.18.0.0/15\nnot-a-cidr\n' > "$tmp/ex.txt"
expect_usage "bad exclude file" "$tmp/ex.txt:2:" --once --exclude "$tmp/ex.txt" 127.0.0.1:80
printf '198.18.0.0/15\n' > "$tmp/ex2.txt"
expect_usage "all excluded" "no endpoints left" --once --exclude "$tmp/ex2.txt" 198.18.0.0/30:80
expect_usage "multicast only" "no endpoints left" --once -p 80 224.0.0.1

# monitoring mode and config files
expect_usage "interval too short" "--interval 1s is not longer than" -p 80 127.0.0.1 --interval 1s --timeout 500ms --retries 1
expect_usage "bad interval" "--interval '5x'" -p 80 127.0.0.1 --interval 5x
expect_usage "bad failures" "--failures '0'" -p 80 127.0.0.1 --failures 0
expect_usage "crit below warn" "--crit" -p 80 127.0.0.1 --warn 200ms --crit 100ms
expect_usage "dry run monitoring" "--dry-run goes with --once" --dry-run -p 80 127.0.0.1
expect_usage "missing config" "cannot open '$tmp/none.yaml'" -c "$tmp/none.yaml"
expect_usage "config and targets" "drop the TARGET" -c "$tmp/none.yaml" 127.0.0.1:80
printf 'groups:\n  - name: web\n    hosts: [198.18.0.1]\n    intervall: 5s\n' > "$tmp/bad.yaml"
expect_usage "bad config key" "$tmp/bad.yaml:4:5: unknown key 'intervall'" -c "$tmp/bad.yaml"
printf 'groups:\n  - name: web\n    hosts: [198.18.1.0/16]\n    ports: [80]\n' > "$tmp/hostbits.yaml"
expect_usage "config host bits" "198.18.1.0/16" -c "$tmp/hostbits.yaml"

# dry run: no privileges needed, packets printed, nothing sent
runuser -u nobody -- "$bin" --once --dry-run --source-ip 198.18.0.1 -p 80,443 198.18.1.0/30 \
	> "$tmp/dry" 2> "$tmp/err" || sw_fail "dry run failed: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/dry")" -eq 8 ] || sw_fail "dry run printed $(wc -l < "$tmp/dry") packets, want 8"
# past --max-targets only with --yes
expect_usage "needs --yes, lower limit" "pass --yes" --once --dry-run --max-targets 100 -p 1-20 198.18.0.0/28
runuser -u nobody -- "$bin" --once --dry-run -q --yes --max-targets 100 --source-ip 198.18.0.1 -p 1-20 198.18.0.0/28 \
	> "$tmp/dry" 2> "$tmp/err" || sw_fail "--yes did not allow a large list: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/dry")" -eq 320 ] || sw_fail "--yes dry run printed $(wc -l < "$tmp/dry") packets, want 320"

# no privileges: says so and how to grant them, exit 1
runuser -u nobody -- "$bin" --once --timeout 10ms 127.0.0.1:80 > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] || sw_fail "unprivileged run: exit $rc, want 1"
grep -q "setcap cap_net_raw" "$tmp/err" || sw_fail "unprivileged run does not say how to grant: $(cat "$tmp/err")"
sw_pass "cli: usage errors, dry run, missing privileges"
