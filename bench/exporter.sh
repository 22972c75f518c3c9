#!/bin/bash
# How long a Prometheus scrape of synwatch-exporter takes for a large fleet,
# and how large /metrics is, with the defaults (every group `metrics:
# aggregate`: counts and handshake histograms per group) and with every
# target's series (`--per-target all`, as every group saying per_target).
#
#   bench/exporter.sh [TARGETS [LOCATIONS]]     (default 100000 1)
#
# A private redis-server (unix socket, temp dir) is filled with TARGETS
# targets per location exactly as probers lay them out (docs/redis.md; the
# generator is tests/integration/consumers_fixture.py, loaded through
# redis-cli --pipe; its heartbeats name no group in metrics_per_target),
# then synwatch-exporter is started on it, once per mode, and /metrics is
# fetched with curl: "cold" scrapes find the last snapshot older than
# --max-age (1 s) and read the whole fleet from Redis (--stale 0); "warm"
# ones come within that second and get the rendered text; "served" ones
# are what a scraper sees with the default --stale (60 s): past --max-age,
# a fleet slow to read gets the last snapshot while the next is read. $SW_SCRAPES cold and warm
# scrapes each (default 10); $SW_MODES the --per-target modes (default
# "config all"). Prints a small Markdown table per mode.
# Binaries from $SW_BIN (default build/). Everything is removed on exit.
set -eu
targets=${1:-100000}
locations=${2:-1}
scrapes=${SW_SCRAPES:-10}
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
	--history 0 --per-target "" | redis-cli -s "$dir/r.sock" --pipe > "$dir/load.log"
grep -q "errors: 0" "$dir/load.log" || { cat "$dir/load.log" >&2; exit 1; }
load_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
mem=$(redis-cli -s "$dir/r.sock" info memory | awk -F: '/^used_memory_human/ { print $2 }' | tr -d '\r')

stats() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f s min, %.3f s median, %.3f s max (%d scrapes)", a[1], a[int((NR + 1) / 2)], a[NR], NR }'; }

url=
scrape() { curl -s -o "$dir/metrics.txt" -w '%{time_total} %{size_download}\n' "$url"; }

# bench MODE: one exporter with --per-target MODE, its scrapes, its table
bench() {
	local mode=$1 base t size cold=() warm=() served=()
	sw_exporter_up "$dir/exp-$mode.log" base --redis "unix://$dir/r.sock" --no-web --per-target "$mode" --stale 0
	local pid=$SW_EXPORTER_PID
	url=$base/metrics
	for _ in $(seq "$scrapes"); do
		sleep 1.2 # past --max-age: this scrape reads Redis
		read -r t size < <(scrape)
		cold+=("$t")
		read -r t _ < <(scrape)
		warm+=("$t")
	done
	local series hist rows read_s rss
	series=$(grep -vc '^#' "$dir/metrics.txt")
	hist=$(grep -c '^synwatch_handshake_duration_seconds_' "$dir/metrics.txt" || true)
	rows=$(awk '/^synwatch_exporter_per_target_rows / { print $2 }' "$dir/metrics.txt")
	read_s=$(awk '/^synwatch_exporter_read_duration_seconds / { print $2 }' "$dir/metrics.txt")
	rss=$(awk '/^VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$pid/status")
	kill "$pid"
	wait "$pid" 2> /dev/null || true
	# the defaults: the first scrape reads; each later one, past --max-age,
	# gets the last snapshot and starts the next read behind it
	sw_exporter_up "$dir/exp-$mode-stale.log" base --redis "unix://$dir/r.sock" --no-web --per-target "$mode"
	url=$base/metrics
	scrape > /dev/null
	for _ in $(seq "$scrapes"); do
		sleep 1.2
		read -r t _ < <(scrape)
		served+=("$t")
	done
	kill "$SW_EXPORTER_PID"
	wait "$SW_EXPORTER_PID" 2> /dev/null || true
	cat << EOT

--per-target $mode:

| what | figure |
| --- | --- |
| fleet | $targets targets x $locations location(s) = $((targets * locations)) (target, location) rows; Redis $mem, loaded in ${load_s} s |
| /metrics size | $(awk -v s="$size" 'BEGIN { printf "%.2f MB", s / 1e6 }'), $series series ($hist of them the handshake histograms; $rows rows shown one by one) |
| cold scrape (reads Redis: pipelined HMGET of every state hash) | $(stats "${cold[@]}") |
| of which reading Redis (synwatch_exporter_read_duration_seconds) | ${read_s} s (last scrape) |
| warm scrape (within --max-age, rendered text reused) | $(stats "${warm[@]}") |
| scrape as served with the default --stale (60 s): past --max-age, the last snapshot while the next is read | $(stats "${served[@]}") |
| exporter peak RSS (VmHWM) | $rss |
| machine | $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end, $(uname -r), $(date -u +%Y-%m-%d) |
EOT
}
for m in ${SW_MODES:-config all}; do
	bench "$m"
done
