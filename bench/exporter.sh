#!/bin/bash
# How long a Prometheus scrape of synwatch-exporter takes for a large fleet.
#
#   bench/exporter.sh [TARGETS [LOCATIONS]]     (default 100000 1)
#
# A private redis-server (unix socket, temp dir) is filled with TARGETS
# targets per location exactly as probers lay them out (docs/redis.md; the
# generator is tests/integration/consumers_fixture.py, loaded through
# redis-cli --pipe), then synwatch-exporter is started on it and /metrics is
# fetched with curl: "cold" scrapes find the last snapshot older than
# --max-age (1 s) and read the whole fleet from Redis; "warm" ones come
# within that second and get the rendered text. Prints a small Markdown
# table. Binaries from $SW_BIN (default build/). Everything is removed on exit.
set -eu
targets=${1:-100000}
locations=${2:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
py=$SW_PY
sw_require_bin synwatch-exporter
sw_require_cmd redis-server redis-cli curl

sw_tmpdir dir
sw_redis_up "$dir"
locs=$(seq -f "loc%g" 1 "$locations" | paste -sd,)
start=$(date +%s.%N)
"$py" "$top/tests/integration/consumers_fixture.py" --targets "$targets" --locations "$locs" --minutes 0 \
	--history 0 | redis-cli -s "$dir/r.sock" --pipe > "$dir/load.log"
grep -q "errors: 0" "$dir/load.log" || { cat "$dir/load.log" >&2; exit 1; }
load_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
mem=$(redis-cli -s "$dir/r.sock" info memory | awk -F: '/^used_memory_human/ { print $2 }' | tr -d '\r')

sw_exporter_up "$dir/exp.log" base --redis "unix://$dir/r.sock" --no-web
url=$base/metrics

scrape() { curl -s -o "$dir/metrics.txt" -w '%{time_total} %{size_download}\n' "$url"; }
cold=() warm=()
for _ in $(seq 10); do
	sleep 1.2 # past --max-age: this scrape reads Redis
	read -r t size < <(scrape)
	cold+=("$t")
	read -r t _ < <(scrape)
	warm+=("$t")
done
series=$(grep -vc '^#' "$dir/metrics.txt")
read_s=$(awk '/^synwatch_exporter_read_duration_seconds / { print $2 }' "$dir/metrics.txt")
stats() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f s min, %.3f s median, %.3f s max (%d scrapes)", a[1], a[int((NR + 1) / 2)], a[NR], NR }'; }

cat << EOF
| what | figure |
| --- | --- |
| fleet | $targets targets x $locations location(s) = $((targets * locations)) (target, location) rows; Redis $mem, loaded in ${load_s} s |
| /metrics size | $((size / 1000000)) MB, $series series |
| cold scrape (reads Redis: pipelined HMGET of every state hash) | $(stats "${cold[@]}") |
| of which reading Redis (synwatch_exporter_read_duration_seconds) | ${read_s} s (last scrape) |
| warm scrape (within --max-age, rendered text reused) | $(stats "${warm[@]}") |
| machine | $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end, $(uname -r), $(date -u +%Y-%m-%d) |
EOF
