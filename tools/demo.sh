#!/bin/bash
# make demo: a throwaway test fleet of 10,000 endpoints of every kind in
# network namespaces, a private redis-server, synwatch monitoring the fleet
# (1 s interval for the "fast" group, 5 s for the rest), a few services
# broken and repaired while it runs, and synwatch-top in front. The status
# page is served by synwatch-exporter on 127.0.0.1. q or Ctrl-C ends it and
# removes everything: namespaces, links, nft tables, processes, files.
# Every address is in 198.18.0.0/15 inside the demo's own namespaces.
# If synwatch dies while the demo runs, the demo ends and says so: how it
# ended (exit status or signal), after how long, and its log, kept in /tmp.
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
# synwatch, started as root, drops to the 'synwatch' user when it exists
# (docs/operations.md): that user must reach the Redis socket in here
chmod 711 "$dir"
pids=()
watcher= fg=
# top (or the wait of --no-top) runs in the background of this shell so that
# a signal to the demo, or the watcher, can end it at once; it reads the
# terminal through fd 3, as a background job would otherwise read /dev/null
exec 3<&0 || exec 3< /dev/null
cleanup() {
	trap - EXIT HUP INT TERM
	# from here on synwatch ending is the demo's doing: the watcher keeps quiet
	: > "$dir/stopping"
	[ -n "$fg" ] && kill "$fg" 2> /dev/null
	[ -t 1 ] && printf '\033[?25h' # the cursor, in case top was killed
	# synwatch finishes the checks in flight and flushes Redis: give it time
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}" $watcher; do kill -0 "$p" 2> /dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}" $watcher; do kill -9 "$p" 2> /dev/null; done
	wait 2> /dev/null
	SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tests/fleet/fleet" down --name "$name" > /dev/null 2>&1
	local kept
	kept=$(sed -n 's/^kept //p' "$dir/died.txt" 2> /dev/null)
	[ -n "$kept" ] && kept="; synwatch's log is kept: $kept"
	rm -rf "$dir"
	echo "demo: everything removed (fleet '$name', redis, synwatch, exporter, $dir)$kept"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

fleet() { SW_FLEET_RESPONDER=$bin/fleet-responder "$py" "$top/tests/fleet/fleet" "$@"; }
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

# The watcher: synwatch runs as its child, so that the moment synwatch ends
# its exit status (or the signal that killed it) is known; a poll of the pid
# could only say that it is gone. Unless the demo is stopping, it keeps the
# log where the demo's clean-up does not remove it, writes the message to
# died.txt and ends what runs where the user looks (fg.pid). Why end top
# rather than let it show the prober GONE: top can say that the heartbeat
# stopped, not why; the demo knows the exit status and has the log, and a
# message printed after top gave the terminal back stays on the screen and
# in the scrollback, where whoever comes back to it at 3 a.m. reads it. The
# demo has nothing left to show without synwatch, so it stops there.
# synwatch runs in a session of its own, so that the terminal's Ctrl-C
# reaches the demo (which stops it with SIGTERM after marking the stop as
# its own) and not synwatch directly, which the watcher would report.
prober_died() { # RC STARTED_S
	local rc=$1 how kept=/tmp/synwatch-demo-prober-$sw_pid.log
	if [ "$rc" -gt 128 ]; then
		how="killed by signal $((rc - 128)) (SIG$(kill -l $((rc - 128)) 2> /dev/null))"
	else
		how="exited with status $rc"
	fi
	cp "$dir/synwatch.log" "$kept" 2> /dev/null || kept="(none: $dir/synwatch.log could not be copied)"
	{
		echo "demo: SYNWATCH DIED after $(($(date +%s) - $2)) s: $how; the demo stops here"
		echo "demo: synwatch's log: $kept (its last lines below)"
		tail -n 8 "$dir/synwatch.log" 2> /dev/null | sed 's/^/    /'
		echo "kept $kept"
	} > "$dir/died.tmp"
	mv "$dir/died.tmp" "$dir/died.txt"
	[ -s "$dir/fg.pid" ] && kill "$(cat "$dir/fg.pid")" 2> /dev/null
}
say "starting synwatch (monitoring $(($(wc -l < "$dir/truth.tsv") - 1)) endpoints) ..."
(
	started=$(date +%s)
	setsid ip netns exec "$pns" "$bin/synwatch" -c "$dir/synwatch.yaml" --redis "$redis" --output none \
		--spill "$dir/spill.log" > /dev/null 2> "$dir/synwatch.log" &
	sw_pid=$!
	echo "$sw_pid" > "$dir/synwatch.pid"
	wait "$sw_pid"
	rc=$?
	[ -e "$dir/stopping" ] || prober_died "$rc" "$started"
) 2> "$dir/watcher.log" & # bash's own "Segmentation fault" line would land on top's screen
watcher=$!
for _ in $(seq 50); do [ -s "$dir/synwatch.pid" ] && break; sleep 0.1; done
sw_pid=$(cat "$dir/synwatch.pid" 2> /dev/null)
[ -n "$sw_pid" ] || { echo "demo: synwatch did not start" >&2; exit 1; }
pids+=("$sw_pid")
"$bin/synwatch-exporter" --redis "$redis" --listen 127.0.0.1:0 --web "$top/tools/web" \
	> /dev/null 2> "$dir/exporter.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$dir/exporter.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$dir/exporter.log" | head -1)

# chaos: every 15 s a few open services break (refused, then dropped), and
# come back 30 s later; the events show in top and on the page
"$py" - "$dir/truth.tsv" "$name" "$top/tests/fleet/fleet" << 'PY' > "$dir/chaos.log" 2>&1 &
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

# Runs CMD where the user looks and waits for it. The watcher writes
# died.txt, then reads fg.pid; this writes fg.pid, then reads died.txt: one
# of the two sees the other, so a death is never missed.
fg_run() { # CMD...
	"$@" <&3 &
	fg=$!
	echo "$fg" > "$dir/fg.pid"
	[ -e "$dir/died.txt" ] && kill "$fg" 2> /dev/null
	wait "$fg"
	rm -f "$dir/fg.pid"
	fg=
}
died() { [ -e "$dir/died.txt" ]; }

say "redis socket: $dir/redis.sock  (e.g. redis-cli -s $dir/redis.sock ZCARD synwatch:idx:demo-lab:down)"
say "status page:  ${url:-(see $dir/exporter.log)}/   metrics: ${url:-}/metrics"
say "logs:         $dir/synwatch.log, $dir/exporter.log, $dir/chaos.log"
say "synwatch:     pid $sw_pid"
if [ "$no_top" -eq 1 ] || [ ! -t 1 ]; then
	say "running for ${seconds:-0} s (Ctrl-C ends it)"
	if [ "$seconds" -gt 0 ]; then
		fg_run sleep "$seconds"
	else
		fg_run sleep infinity
	fi
	if died; then
		# top says GONE once the heartbeat hash expired (5 s after the last)
		for _ in $(seq 80); do
			live=0
			for id in $(redis-cli -s "$dir/redis.sock" zrange synwatch:probers 0 -1); do
				[ "$(redis-cli -s "$dir/redis.sock" exists "synwatch:prober:$id")" = 1 ] && live=1
			done
			[ $live -eq 0 ] && break
			sleep 0.1
		done
	fi
	"$bin/synwatch-top" --redis "$redis" --once --width 120 | head -40
else
	say "starting synwatch-top in 3 s: q quits, / filters, l switches location, e shows all events or outages alone"
	fg_run sleep 3
	# the events pane starts with the outages: the demo's breakages, not its flapping and slowness
	died || fg_run "$bin/synwatch-top" --redis "$redis" --events outages
fi
if died; then
	if [ -t 2 ]; then
		printf '\033[1;31m%s\033[0m\n' "$(head -1 "$dir/died.txt")" >&2
		sed -n '2,$p' "$dir/died.txt" | grep -v '^kept ' >&2
	else
		grep -v '^kept ' "$dir/died.txt" >&2
	fi
	exit 1
fi
