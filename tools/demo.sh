#!/bin/bash
# make demo: a throwaway test fleet of 10,000 endpoints of every kind in
# network namespaces, a private redis-server, synwatch monitoring the fleet
# (1 s interval for the "fast" group, 5 s for the rest), a few services
# broken and repaired while it runs, and synwatch-top in front. The status
# page is served by synwatch-exporter on 127.0.0.1. q or Ctrl-C ends it and
# removes everything: namespaces, links, nft tables, processes, files.
# Every address is in 198.18.0.0/15 inside the demo's own namespaces.
#
# Usage: tools/demo.sh [--no-top] [--seconds N]   (run as root; make demo does)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SW_BIN:-$top/build}
py=/usr/bin/python3
no_top=0 seconds=0
while [ $# -gt 0 ]; do
	case $1 in
	--no-top) no_top=1 ;;
	--seconds) seconds=$2; shift ;;
	*) echo "demo: unknown option '$1' (expected --no-top, --seconds N)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces, raw sockets); run: sudo make demo" >&2; exit 1; }
for p in synwatch synwatch-top synwatch-exporter fleet-responder; do
	[ -x "$bin/$p" ] || { echo "demo: '$bin/$p' is missing; run: make" >&2; exit 1; }
done

name=demo$(printf '%04d' $(($$ % 10000)))
dir=$(mktemp -d /tmp/synwatch-demo.XXXXXX)
pids=()
cleanup() {
	trap - EXIT INT TERM
	printf '\033[?25h' # the cursor, in case top was killed
	# synwatch finishes the checks in flight and flushes Redis: give it time
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
	wait 2> /dev/null
	SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tools/fleet" down --name "$name" > /dev/null 2>&1
	rm -rf "$dir"
	echo "demo: everything removed (fleet '$name', redis, synwatch, exporter, $dir)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fleet() { SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tools/fleet" "$@"; }
say() { echo "demo: $*"; }

say "building a fleet of 10,000 endpoints in namespaces swf-$name-p / -t ..."
fleet up --name "$name" --truth "$dir/truth.tsv" --seed 42 \
	--spec "open=6000,closed=1400,filtered=700,unreach=400,slow=700,lossy=400,flap=400,ports=22+80+443" ||
	{ echo "demo: the fleet did not come up" >&2; exit 1; }
pns=swf-$name-p

say "starting a private redis-server on $dir/redis.sock ..."
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 777 --save '' --appendonly no \
	--dir "$dir" --logfile "$dir/redis.log" --daemonize no > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$dir/redis.sock" ] && break; sleep 0.1; done
[ -S "$dir/redis.sock" ] || { echo "demo: redis-server did not start: $(tail -3 "$dir/redis.log")" >&2; exit 1; }
redis="unix://$dir/redis.sock"

# the config: every tenth host checked every second, the rest every 5 s,
# with names, teams and thresholds so that top and the page have something
# to show; slow endpoints (the responder's block) get latency thresholds
"$py" - "$dir/truth.tsv" > "$dir/synwatch.yaml" << 'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("ip\t")]
fast, rest, slow = [], [], []
for i, (ip, port, kind, code, delay) in enumerate(rows):
    spec = f'"{ip}:{port}"'
    if ip.startswith("198.19."):
        slow.append(spec)
    elif int(ip.split(".")[3]) % 10 == 0:
        fast.append(spec)
    else:
        rest.append(spec)
def group(name, hosts, interval, labels, extra=""):
    print(f"  - name: {name}\n    interval: {interval}\n    labels: {labels}{extra}\n    hosts:")
    for h in hosts:
        print(f"      - {h}")
print("location: demo-lab\nrate: 20000\ndefaults:\n  timeout: 400ms\n  retries: 1\n  failures: 2")
print("groups:")
group("fast", fast, "1s", "{ team: web, criticality: critical }")
group("fleet", rest, "5s", "{ team: infra, criticality: normal }")
group("latency", slow, "2s", "{ team: dba, criticality: high }",
      "\n    latency: { warn: 40ms, crit: 90ms, window: 5, over: 3 }")
PY

say "starting synwatch (monitoring $(($(wc -l < "$dir/truth.tsv") - 1)) endpoints) ..."
ip netns exec "$pns" "$bin/synwatch" -c "$dir/synwatch.yaml" --redis "$redis" --output none \
	--spill "$dir/spill.log" > /dev/null 2> "$dir/synwatch.log" &
pids+=($!)
"$bin/synwatch-exporter" --redis "$redis" --listen 127.0.0.1:0 --web "$top/tools/web" \
	> /dev/null 2> "$dir/exporter.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$dir/exporter.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$dir/exporter.log" | head -1)

# chaos: every 15 s a few open services break (refused, then dropped), and
# come back 30 s later; the events show in top and on the page
"$py" - "$dir/truth.tsv" "$name" "$top/tools/fleet" << 'PY' > "$dir/chaos.log" 2>&1 &
import os, random, subprocess, sys, time
truth, name, fleet = sys.argv[1:]
opened = [l.split("\t")[:2] for l in open(truth) if "\topen\t" in l]
rng = random.Random(7)
broken = []
def fset(ep, kind):
    subprocess.run(["/usr/bin/python3", fleet, "set", "--name", name, ep, kind],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    time.sleep(15)
    for ep, since in list(broken):
        if time.time() - since > 30:
            fset(ep, "open")
            broken.remove((ep, since))
            print("repaired", ep, flush=True)
    for kind in ("closed", "filtered"):
        ip, port = rng.choice(opened)
        ep = f"{ip}:{port}"
        fset(ep, kind)
        broken.append((ep, time.time()))
        print("broke", ep, kind, flush=True)
PY
pids+=($!)

say "redis socket: $dir/redis.sock  (e.g. redis-cli -s $dir/redis.sock ZCARD synwatch:idx:demo-lab:down)"
say "status page:  ${url:-(see $dir/exporter.log)}/   metrics: ${url:-}/metrics"
say "logs:         $dir/synwatch.log, $dir/exporter.log, $dir/chaos.log"
if [ "$no_top" -eq 1 ] || [ ! -t 1 ]; then
	say "running for ${seconds:-0} s (Ctrl-C ends it)"
	if [ "$seconds" -gt 0 ]; then
		sleep "$seconds"
	else
		while :; do sleep 3600; done
	fi
	"$bin/synwatch-top" --redis "$redis" --once --width 120 | head -40
else
	say "starting synwatch-top in 3 s: q quits, / filters, l switches location"
	sleep 3
	"$bin/synwatch-top" --redis "$redis"
fi
