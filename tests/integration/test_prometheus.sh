#!/bin/bash
# Prometheus, as its users work with synwatch-exporter:
#
#   the alerting rules (etc/prometheus/synwatch-rules.yml): promtool check
#   rules, and promtool test rules with tests/prometheus/synwatch-rules.test.yml;
#   Debian's Prometheus scraping the exporter over a private redis-server
#   holding the consumers' fixture (consumers_fixture.py): up is 1, promtool
#   check metrics is clean, queries return the fixture's counts (series per
#   target for the group whose probers' heartbeat names it in
#   metrics_per_target, counts per group for every group), the handshake
#   histograms answer histogram_quantile while probers add to them, the rules
#   evaluate against the real series (the down targets' and groups' alerts
#   pending), and every query of the Grafana dashboard
#   (etc/grafana/synwatch-dashboard.json) runs, its stat panels giving the
#   fixture's counts.
#
# Listens on 127.0.0.1 only. No root needed.
. "$(dirname "$0")/lib.sh"

sw_require_cmd prometheus promtool redis-server redis-cli curl "$SW_PY"
sw_require_bin synwatch-exporter
rules=$SW_TOP/etc/prometheus/synwatch-rules.yml
here=$SW_TOP/tests/integration

# ---- the rules ----
promtool check rules "$rules" > /dev/null 2>&1 || sw_fail "promtool check rules: $(promtool check rules "$rules" 2>&1 | tail -3)"
(cd "$SW_TOP/tests/prometheus" && promtool test rules synwatch-rules.test.yml) > "${TMPDIR:-/tmp}/sw-promtest.$$" 2>&1 ||
	sw_fail "promtool test rules: $(cat "${TMPDIR:-/tmp}/sw-promtest.$$")"
rm -f "${TMPDIR:-/tmp}/sw-promtest.$$"
sw_pass "rules: promtool check rules and test rules ($(grep -c '^      - alert:' "$rules") alerts)"

# ---- a real Prometheus scraping the exporter ----
sw_tmpdir dir
sw_redis_up "$dir"
# per-target series for the web group only: db (checks, down targets) and ssh are aggregate
"$SW_PY" "$here/consumers_fixture.py" --expect "$dir/expect.json" --per-target web |
	redis-cli -s "$dir/r.sock" --pipe > "$dir/load.log" ||
	sw_fail "loading the fixture: $(tail -2 "$dir/load.log")"
sw_exporter_up "$dir/exporter.log" exp --redis "unix://$dir/r.sock" --no-web --max-age 500ms

# the exporter's text, as Prometheus's own linter reads it
curl -sf "$exp/metrics" > "$dir/metrics.txt" || sw_fail "GET /metrics"
promtool check metrics < "$dir/metrics.txt" > "$dir/lint.txt" 2>&1 || true
[ -s "$dir/lint.txt" ] && sw_fail "promtool check metrics: $(head -5 "$dir/lint.txt")"

# one target per scrape, as blackbox_exporter's /probe
code() { curl -s -o "$dir/probe.txt" -w '%{http_code}' "$exp/probe$1"; }
[ "$(code '?target=198.18.0.8:5432')" = 200 ] || sw_fail "/probe?target=198.18.0.8:5432: $(cat "$dir/probe.txt")"
[ "$(grep -c '^probe_success{target="198.18.0.8:5432",' "$dir/probe.txt")" -eq 2 ] ||
	sw_fail "/probe: want probe_success from both locations: $(grep probe_success "$dir/probe.txt")"
grep -q '^probe_ip_protocol{target="198.18.0.8:5432",.*location="fra1".*} 4$' "$dir/probe.txt" || sw_fail "/probe: no probe_ip_protocol 4"
grep -q '^probe_check_success{target="198.18.0.8:5432",.*check="postgres"} ' "$dir/probe.txt" || sw_fail "/probe: no check series"
grep -v '^#' "$dir/probe.txt" | grep -v 'target="198.18.0.8:5432"' && sw_fail "/probe: another target's series"
# /metrics has no series of its own for it: its group (db) is aggregate
grep -q '^probe_success{target="198.18.0.8:5432",' "$dir/metrics.txt" && sw_fail "/metrics has db-7's series, db is aggregate"
promtool check metrics < "$dir/probe.txt" > "$dir/lint.txt" 2>&1 || true
[ -s "$dir/lint.txt" ] && sw_fail "promtool check metrics on /probe: $(head -5 "$dir/lint.txt")"
[ "$(code '?target=198.18.0.8:5432&location=ams1')" = 200 ] && [ "$(grep -c '^probe_success{' "$dir/probe.txt")" -eq 1 ] ||
	sw_fail "/probe with location=ams1: $(cat "$dir/probe.txt")"
[ "$(code '')" = 400 ] || sw_fail "/probe without a target: not 400"
[ "$(code '?target=198.18.99.99:1')" = 404 ] && grep -q "no target '198.18.99.99:1' in Redis" "$dir/probe.txt" ||
	sw_fail "/probe of an unknown target: $(cat "$dir/probe.txt")"
sw_pass "/probe?target=: one target's series from every location (or one, of an aggregate group too), probe_ip_protocol, 400 and 404"

pport=$("$SW_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$dir/prometheus.yml" << EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: synwatch
    static_configs:
      - targets: ['${exp#http://}']
  # blackbox users' relabelling: the target in ?target=, and as instance
  - job_name: synwatch-probe
    metrics_path: /probe
    static_configs:
      - targets: ['198.18.0.8:5432', '198.18.0.15:443']
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: '${exp#http://}'
EOF
promtool check config "$dir/prometheus.yml" > /dev/null 2>&1 || sw_fail "promtool check config: $(promtool check config "$dir/prometheus.yml" 2>&1 | tail -2)"
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
	--web.listen-address="127.0.0.1:$pport" > "$dir/prometheus.log" 2>&1 &
sw_cleanup_add "kill $! 2>/dev/null; sleep 0.2"
prom=http://127.0.0.1:$pport

# query EXPR: the value of the first sample of an instant query, or "none"
query() {
	curl -sf --get "$prom/api/v1/query" --data-urlencode "query=$1" |
		"$SW_PY" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")'
}
is() { [ "$(query "$1")" = "$2" ]; }

sw_wait_for 30 curl -sf "$prom/-/ready" -o /dev/null || sw_fail "Prometheus not ready: $(tail -3 "$dir/prometheus.log")"
sw_wait_for 20 is 'up{job="synwatch"}' 1 || sw_fail "up is $(query 'up{job="synwatch"}'): $(tail -3 "$dir/prometheus.log")"
# the fixture: 72 (target, location) pairs, 6 down, 2 of them in fra1 alone ...
# fig NAME: a figure of the fixture's, for the web group (per target) or all
fig() {
	"$SW_PY" - "$dir/expect.json" "$1" << 'PY'
import json, sys
e, what = json.load(open(sys.argv[1])), sys.argv[2]
pt = lambda t: e["target_group"][t] in e["per_target"]
print({"down": sum(len(v) for v in e["down"].values()),
       "down_pt": sum(1 for v in e["down"].values() for t, _ in v if pt(t)),
       "down_groups": sum(1 for per in e["groups"].values() for g, c in per.items() if c["down"] and g not in e["per_target"]),
       "pairs_pt": sum(1 for t, per in e["states"].items() for s in per.values() if s != "unknown" and pt(t)),
       "checked_pt": sum(len(v) for t, v in e["checks"].items() if pt(t))}[what])
PY
}
down=$(fig down) down_pt=$(fig down_pt) down_groups=$(fig down_groups) pairs_pt=$(fig pairs_pt) checked=$(fig checked_pt)
[ "$down_pt" -gt 0 ] && [ "$down_groups" -gt 0 ] && [ "$down" -gt "$down_pt" ] ||
	sw_fail "the fixture should have down targets in both kinds of group: $down_pt of $down per target, $down_groups groups"
is 'sum(synwatch_group_targets{job="synwatch",state="down"})' "$down" ||
	sw_fail "down per group: $(query 'sum(synwatch_group_targets{job="synwatch",state="down"})'), want $down"
is 'count(synwatch_target_state{job="synwatch",state="down"} == 1)' "$down_pt" ||
	sw_fail "down series: $(query 'count(synwatch_target_state{job="synwatch",state="down"} == 1)'), want $down_pt"
is 'count(synwatch_target_state{job="synwatch"})' "$pairs_pt" ||
	sw_fail "state series: $(query 'count(synwatch_target_state{job="synwatch"})'), want $pairs_pt"
is 'count(synwatch_target_state{job="synwatch",group!="web"})' none || sw_fail "state series of an aggregate group"
is 'sum(synwatch_group_targets{job="synwatch"})' 72 || sw_fail "group counts: $(query 'sum(synwatch_group_targets{job="synwatch"})'), want 72"
is 'count(probe_check_success{job="synwatch"})' "$checked" ||
	sw_fail "probe_check_success series: $(query 'count(probe_check_success{job="synwatch"})'), want $checked"
sw_wait_for 20 is 'count(up{job="synwatch-probe"} == 1)' 2 || sw_fail "the /probe job: $(query 'count(up{job="synwatch-probe"} == 1)') of 2 up"
is 'count(probe_success{job="synwatch-probe",instance="198.18.0.8:5432"})' 2 ||
	sw_fail "probe_success with instance=198.18.0.8:5432: $(query 'count(probe_success{job="synwatch-probe",instance="198.18.0.8:5432"})')"
is 'probe_ip_protocol{job="synwatch-probe",instance="198.18.0.15:443",location="fra1"}' 4 || sw_fail "probe_ip_protocol by instance"
sw_pass "Prometheus scrapes the exporter: up 1, promtool check metrics clean, $down down in 72 counted per group, $pairs_pt state series ($down_pt down) and $checked check series for the per-target group as in Redis; /probe per target with instance = the target"

# the handshake histograms, while "probers" add to them every second as
# they do (HINCRBY, docs/redis.md): web's new answers in (400, 800] us, ssh's
# in (800, 1600] us; histogram_quantile interpolates within the bucket (near
# 0.00076 and 0.00152 s; rate()'s extrapolation moves it a little)
(
	for _ in $(seq 60); do
		for loc in fra1 ams1; do
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc 800:web 50 > /dev/null
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc count:web 50 > /dev/null
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc sum_us:web 30000 > /dev/null
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc 1600:ssh 20 > /dev/null
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc count:ssh 20 > /dev/null
			redis-cli -s "$dir/r.sock" HINCRBY synwatch:histo:$loc sum_us:ssh 24000 > /dev/null
		done
		sleep 1
	done
) &
sw_cleanup_add "kill $! 2>/dev/null"
hq='histogram_quantile(0.9, sum by (le, group) (rate(synwatch_handshake_duration_seconds_bucket{job="synwatch"}[1m])))'
within() { # EXPR LO HI: the value in (LO, HI]
	"$SW_PY" -c 'import sys; v = sys.argv[1]; sys.exit(0 if v not in ("none", "NaN") and float(sys.argv[2]) < float(v) <= float(sys.argv[3]) else 1)' \
		"$(query "$1")" "$2" "$3"
}
hq_web='histogram_quantile(0.9, sum by (le, group) (rate(synwatch_handshake_duration_seconds_bucket{job="synwatch",group="web"}[1m])))'
sw_wait_for 20 within "$hq_web" 0.0004 0.0008 ||
	sw_fail "histogram_quantile for web: $(query "$hq_web"), want in (0.0004, 0.0008]"
is "count($hq)" 3 || sw_fail "$hq: $(query "count($hq)") groups, want 3 (db, ssh, web)"
hq_ssh='histogram_quantile(0.9, sum by (le) (rate(synwatch_handshake_duration_seconds_bucket{job="synwatch",group="ssh"}[1m])))'
sw_wait_for 10 within "$hq_ssh" 0.0008 0.0016 || sw_fail "histogram_quantile for ssh: $(query "$hq_ssh"), want in (0.0008, 0.0016]"
# _sum and _count grow with the answers, and only the web and ssh groups'
grows='count(rate(synwatch_handshake_duration_seconds_sum{job="synwatch"}[1m]) > 0 and rate(synwatch_handshake_duration_seconds_count{job="synwatch"}[1m]) > 0)'
sw_wait_for 10 is "$grows" 4 || sw_fail "$grows: $(query "$grows"), want 4 (web and ssh in fra1 and ams1)"
curl -sf "$exp/metrics" | promtool check metrics > "$dir/lint.txt" 2>&1 || true
[ -s "$dir/lint.txt" ] && sw_fail "promtool check metrics with growing histograms: $(head -5 "$dir/lint.txt")"
sw_pass "histograms: $hq gives web $(query "$hq_web") s (bucket 0.4-0.8 ms) and ssh $(query "$hq_ssh") s (0.8-1.6 ms) as the counters grow; _sum and _count growing for those alone; promtool check metrics clean"

# the rules on the real series: every rule healthy, the down ones pending
rules_ok() {
	curl -sf "$prom/api/v1/rules" | "$SW_PY" -c 'import json, sys
rs = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
sys.exit(0 if len(rs) == int(sys.argv[1]) and all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("2") for r in rs) else 1)' "$1"
}
n_rules=$(grep -c '^      - alert:' "$rules")
sw_wait_for 10 rules_ok "$n_rules" || sw_fail "rules not all evaluated and healthy: $(curl -s "$prom/api/v1/rules" | head -c 600)"
sw_wait_for 10 is 'count(ALERTS{alertname="SynwatchTargetDown",job="synwatch"})' "$down_pt" ||
	sw_fail "SynwatchTargetDown alerts: $(query 'count(ALERTS{alertname="SynwatchTargetDown",job="synwatch"})'), want $down_pt"
is 'count(ALERTS{alertname="SynwatchTargetDown",job="synwatch",alertstate="pending",team!=""})' "$down_pt" ||
	sw_fail "the down alerts are not pending with the targets' labels"
sw_wait_for 10 is 'count(ALERTS{alertname="SynwatchGroupTargetsDown",job="synwatch",alertstate="pending"})' "$down_groups" ||
	sw_fail "SynwatchGroupTargetsDown alerts: $(query 'count(ALERTS{alertname="SynwatchGroupTargetsDown",job="synwatch"})'), want $down_groups"
is 'count(ALERTS{alertname="SynwatchGroupTargetsDown",job="synwatch",group="web"})' none ||
	sw_fail "SynwatchGroupTargetsDown for the per-target group web"
sw_pass "rules: $n_rules evaluated on the exporter's series, healthy; $down_pt SynwatchTargetDown pending with the targets' labels, $down_groups SynwatchGroupTargetsDown for the aggregate groups"

# the Grafana dashboard: every panel's query runs on the real series (its
# variables at "All"), the stat panels give the fixture's counts, and the
# variables' label values exist
dash=$SW_TOP/etc/grafana/synwatch-dashboard.json
"$SW_PY" - "$dash" "$prom" "$down" << 'PY' || sw_fail "the Grafana dashboard's queries"
import json, sys, urllib.parse, urllib.request
dash, prom, down = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def get(path, **q):
    with urllib.request.urlopen(prom + path + "?" + urllib.parse.urlencode(q, doseq=True), timeout=10) as r:
        return json.load(r)
n = 0
stats = {}
for p in dash["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$location", ".*").replace("$group", ".*").replace("$job", "synwatch")
        e = e.replace("$__rate_interval", "1m")
        r = get("/api/v1/query", query=e)
        if r.get("status") != "success":
            sys.exit("panel '%s': %s: %s" % (p["title"], e, r))
        n += 1
        if p["type"] == "stat":
            res = r["data"]["result"]
            stats[p["title"]] = res[0]["value"][1] if res else "none"
if stats.get("Down") != down:
    sys.exit("stat Down: %s, want %s (%s)" % (stats.get("Down"), down, stats))
if stats.get("Up") in (None, "none"):
    sys.exit("stat Up: no value (%s)" % stats)
for v in dash["templating"]["list"]:
    if v["type"] != "query":
        continue
    metric, label = v["definition"][len("label_values("):-1].split(", ")
    vals = get("/api/v1/label/%s/values" % label, **{"match[]": metric})["data"]
    if not vals:
        sys.exit("variable %s: no values of %s on %s" % (v["name"], label, metric))
PY
sw_pass "Grafana dashboard: every query of its $(grep -c '"expr"' "$dash") runs on the real series; Down $down as in Redis; its variables have values"
