#!/bin/bash
# Runs every tests/integration/test_*.sh (or those named) with SW_BIN set to
# the directory of the binaries under test. Each test builds its own
# namespaces and servers and removes them. Prints "integration: N passed,
# M failed" last; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export SW_BIN=$(cd "${1:-$top/build/test}" && pwd)
export SW_TOP=$top
shift || true
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=("$here"/test_*.sh)

pass=0 fail=0 failed=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	echo "== $name"
	if bash "$t"; then
		pass=$((pass + 1))
		echo "== $name: ok ($(($(date +%s) - start)) s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "== $name: FAILED ($(($(date +%s) - start)) s)"
	fi
done
[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
