#!/bin/bash
# Runs one libFuzzer harness for a while over a copy of its seed corpus.
# Usage: run.sh BINARY SECONDS
# The corpus is tests/fuzz/corpus/NAME/ (NAME: the binary's name without
# "fuzz_"); new inputs go to a temporary copy, so the checked-in seeds stay
# as they are. Prints one line; exits 1 on a crash (the input and the log
# are kept and named), 2 on bad usage.
set -u

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 BINARY SECONDS" >&2
	exit 2
fi
bin=$1 secs=$2
if [ ! -x "$bin" ]; then
	echo "$0: '$bin' is not an executable fuzz harness (build it with make $bin)" >&2
	exit 2
fi
name=$(basename "$bin")
seeds="$(cd "$(dirname "$0")" && pwd)/corpus/${name#fuzz_}"
mkdir -p "$seeds"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 2
mkdir "$tmp/corpus"
cp -R "$seeds/." "$tmp/corpus/"
seeded=$(find "$tmp/corpus" -type f | wc -l)

"$bin" -max_total_time="$secs" -timeout=10 -artifact_prefix="$tmp/" "$tmp/corpus" > "$tmp/log" 2>&1
rc=$?
crash=$(find "$tmp" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -n 1)
if [ $rc -ne 0 ] || [ -n "$crash" ]; then
	echo "$name: FAILED (exit $rc) after up to ${secs}s: input ${crash:-none saved}, log $tmp/log"
	exit 1
fi
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log" | tail -n 1)
found=$(find "$tmp/corpus" -type f | wc -l)
echo "$name: ok, ${runs:-?} runs in ${secs}s, corpus $seeded -> $found inputs"
rm -rf "$tmp"
