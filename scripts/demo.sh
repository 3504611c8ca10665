#!/usr/bin/env bash
# The main job: a 3-node DFaaS lab (light, mid, heavy) in network namespaces, node A loaded
# beyond its capacity, once with All-Local (no offloading) and once with the default strategy
# (Recalc), a comparison table and a PNG plot of the per-second timelines. The load alternates
# between figlet's function port (31001) and the entry URL that calls it by name
# (http://NODE:30080/function/figlet). Sets up and builds first when needed. About 3 minutes
# after the build.
#
#   scripts/demo.sh [--rate 350] [--duration 40s] [--strategy recalc] [--quick] [--out DIR]
#
# --quick: a short run (15 s of load) for the test suite. The table and the plot are also
# written to DIR (default results/demo-<time>/), with the load generator's raw reports.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=350
duration=40s
strategy=recalc
out=""
period=5s
while (($#)); do
  case $1 in
  --rate) rate=$2; shift 2 ;;
  --duration) duration=$2; shift 2 ;;
  --strategy) strategy=$2; shift 2 ;;
  --quick) duration=15s; shift ;;
  --out) out=$2; shift 2 ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "demo: needs root (network namespaces, eBPF)" >&2; exit 1; }

# Set up and build when needed (quiet when everything is there).
if [[ ! -x build/bin/dfaas-agent || ! -x build/bin/dfaas-loadgen ]]; then
  echo "demo: first run: installing dependencies and building (on a fresh Debian 12 about 3 min of packages and 10-20 min of build on 2 cores; docs/operations.md#setup-profiles)..." >&2
  scripts/setup.sh
else
  scripts/setup.sh --no-build
fi

# A lab of its own: a lab the user keeps up (scripts/lab.sh up) is left alone.
export DFAAS_LAB_ID=${DFAAS_LAB_ID:-demo}
out=${out:-results/demo-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
trap 'scripts/lab.sh down >/dev/null 2>&1 || true' EXIT
scripts/lab.sh down >/dev/null 2>&1 || true

run() {  # STRATEGY
  local s=$1
  echo "demo: ${s}: starting the lab (3 nodes, period $period)..." >&2
  scripts/lab.sh up --strategy "$s" --period "$period" >"$out/lab-$s.txt" 2>&1 ||
    { cat "$out/lab-$s.txt" >&2; exit 1; }
  sleep 2
  echo "demo: ${s}: ${rate} req/s of figlet on node A (capacity about 220 req/s) for $duration..." >&2
  local progress=(--quiet)
  [[ -t 2 ]] && progress=()
  scripts/lab.sh exec client build/bin/dfaas-loadgen --rate "$rate" --duration "$duration" \
    --timeout 3s --body 'DFaaS' --target http://10.77.0.1:31001/function/figlet \
    --target http://10.77.0.1:30080/function/figlet \
    --timeline "$out/timeline-$s.csv" --json --output "$out/report-$s.json" "${progress[@]}"
  scripts/lab.sh status >"$out/status-$s.txt" 2>&1 || true
  # What node A's entry port steered (half of the requests call figlet by name).
  scripts/lab.sh exec a curl -s --max-time 5 http://127.0.0.1:9080/metrics 2>/dev/null |
    grep '^dfaas_entry_connections_total{' >"$out/entry-$s.txt" || true
  scripts/lab.sh down >/dev/null 2>&1
}

run alllocal
run "$strategy"

python3 - "$out" "$strategy" "$duration" <<'PY' | tee "$out/summary.txt"
import csv, json, sys

out, strategy, duration = sys.argv[1], sys.argv[2], sys.argv[3]

def load(s):
    r = json.load(open(f"{out}/report-{s}.json"))
    rows = list(csv.DictReader(open(f"{out}/timeline-{s}.csv")))
    return r, rows

def steady(rows):
    # From the 15th second on: the strategy has had three periods to adapt.
    tail = [row for row in rows if int(row["second"]) >= 15]
    issued = sum(int(row["issued"]) for row in tail)
    ok = sum(int(row["http_200"]) for row in tail)
    return f"{100.0 * ok / issued:.1f} %" if issued else "-"

def entry_routes(s):
    # dfaas_entry_connections_total{function="figlet",route="..."} N, from node A's agent.
    routes = {}
    try:
        for line in open(f"{out}/entry-{s}.txt"):
            labels, value = line.rsplit(" ", 1)
            route = labels.split('route="', 1)[1].split('"', 1)[0]
            routes[route] = routes.get(route, 0) + int(float(value))
    except (OSError, IndexError, ValueError):
        pass
    return routes

def ms(ns):
    return f"{ns / 1e6:.1f} ms"

summary = {}
print(f"\nDFaaS demo: figlet on node A (light), {duration} of load\n")
header = ["strategy", "requests", "HTTP 200", "steady state", "p50", "p99",
          "served by a / b / c", "rejected (429/refused)"]
table = []
for s in ["alllocal", strategy]:
    r, rows = load(s)
    served = r.get("served_by", {})
    codes = r.get("status_codes", {})
    rejected = int(codes.get("429", 0)) + int(r.get("error_kinds", {}).get("refused", 0))
    lat = r["latencies"]
    ok200 = int(codes.get("200", 0))
    ratio = ok200 / r["requests"] if r["requests"] else 0
    summary[s] = {"requests": r["requests"], "http_200_ratio": ratio,
                  "success": r["success"], "served_by": served,
                  "entry_connections": entry_routes(s)}
    table.append([s, str(r["requests"]), f"{100 * ratio:.1f} %", steady(rows),
                  ms(lat["50th"]), ms(lat["99th"]),
                  " / ".join(str(served.get(f"node-{n}", 0)) for n in "abc"), str(rejected)])
width = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
print("  ".join(h.ljust(width[i]) for i, h in enumerate(header)))
for row in table:
    print("  ".join(c.ljust(width[i]) for i, c in enumerate(row)))
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
for s in ["alllocal", strategy]:
    routes = summary[s]["entry_connections"]
    print(f"{s}: connections by name through node A's entry port (by route): " +
          (", ".join(f"{k} {v}" for k, v in sorted(routes.items())) or "none"))
print(f"\n(steady state: from the 15th second on, once the strategy has adapted)")
PY

# The plot: successful requests per second of both runs, and who served them with offloading.
python3 - "$out" "$strategy" <<'PY'
import csv, sys
out, strategy = sys.argv[1], sys.argv[2]
for s in ["alllocal", strategy]:
    rows = list(csv.DictReader(open(f"{out}/timeline-{s}.csv")))
    with open(f"{out}/plot-{s}.dat", "w") as f:
        f.write("# second issued http_200 served_a served_b served_c\n")
        for row in rows:
            f.write(" ".join([row["second"], row["issued"], row.get("http_200", "0"),
                              row.get("served_by_node-a", "0") or "0",
                              row.get("served_by_node-b", "0") or "0",
                              row.get("served_by_node-c", "0") or "0"]) + "\n")
PY
gnuplot <<EOF
set terminal pngcairo size 1100,700 font ",10"
set output "$out/demo.png"
set multiplot layout 2,1 title "DFaaS demo: node A (light) under $rate req/s of figlet"
set ylabel "requests/s"
set xlabel "second"
set key outside right
set grid
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set title "HTTP 200 per second"
plot "$out/plot-alllocal.dat" using 1:2 with lines dashtype 2 lc rgb "gray" title "offered", \
     "$out/plot-alllocal.dat" using 1:3 with lines lw 2 lc rgb "red" title "All-Local", \
     "$out/plot-$strategy.dat" using 1:3 with lines lw 2 lc rgb "blue" title "$strategy"
set title "$strategy: who served the requests"
plot "$out/plot-$strategy.dat" using 1:4 with lines lw 2 title "node A (light)", \
     "$out/plot-$strategy.dat" using 1:5 with lines lw 2 title "node B (mid)", \
     "$out/plot-$strategy.dat" using 1:6 with lines lw 2 title "node C (heavy)"
unset multiplot
EOF
echo "demo: table, plot (demo.png) and raw reports in $out" >&2
