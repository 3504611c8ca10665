#!/usr/bin/env bash
# The reference's experiments T1-T3 in a 3-node lab (light, mid, heavy), scaled to this machine,
# T4 (T3 with node b's agent and gateway killed at 2/3 of the run, started again 60 s later) and
# T5 (6 nodes a-f, 12 functions, each node's load surging in turn, one sixth of the run each),
# for All-Local (no offloading), Static, Recalc and Node Margin; tables and PNG plots. recalc-ref is
# Recalc with the reference's overflow (strategy.recalc.overflow: overloaded), recalc the agent's
# default (standby overflow; docs/strategies.md).
#
#   scripts/experiment.sh [--scenarios t1,t2,t3] (t4, t5 on request)
#                         [--strategies alllocal,static,recalc-ref,recalc,nodemargin]
#                         [--repeat 3] [--full] [--scale 1] [--time-scale 0.2] [--period 5s]
#                         [--models DIR] [--out DIR] [--print-plan]
#   scripts/experiment.sh --report DIR       only the tables and plots of an earlier run
#
# --repeat N runs every (scenario, strategy) cell N times (default 3), repetition by repetition
# (all cells once, then all again), so a slow spell of the machine spreads over the cells; the
# tables give the mean and min-max per cell. --scale multiplies every rate and maxrate (the node
# model's cost per request is divided by it; docs/experiments.md, "Node model"), --time-scale
# every duration (0.2: T1 lasts 1 min instead of 5, T2 2 min, T3, T4 and T5 3 min). --full is the
# published profile: --time-scale 1 --period 1m (a flag after it still wins). --print-plan prints
# what would run (streams, stages, faults, period, repetitions) and exits without root or a lab.
# Each run is on a fresh lab; the load comes from dfaas-loadgen in the client namespace, one
# open-loop stream per (node, function) of the scenario, one connection per request. Node Margin
# needs the forecaster models (--models, default ../shared/data/forecaster) and is skipped with a
# message without them. Results in DIR (default results/experiment-<time>): results.md (tables),
# results.json, <scenario>.png, and per run (DIR/<scenario>/<strategy>/rep-<i>/) the loadgen
# reports and timelines, per-second.csv, prometheus-<node>.csv (each node's Prometheus series
# over the load), faults.txt (T4: when each stop and start happened), the agents' stats and logs.
# The default profile with 1 repetition takes about 40 minutes, with 3 about two hours.
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=t1,t2,t3
strategies=alllocal,static,recalc-ref,recalc,nodemargin
scale=1
timescale=0.2
period=5s
scrape=5s
repeat=3
print_plan=""
models=${DFAAS_FORECASTER_DATA_DIR:-$PWD/../shared/data/forecaster}
out=""
report_only=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 1; }
while (($#)); do
  case $1 in
  --scenarios) scenarios=$2; shift 2 ;;
  --strategies) strategies=$2; shift 2 ;;
  --scale) scale=$2; shift 2 ;;
  --time-scale) timescale=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --full) timescale=1; period=1m; shift ;;
  --print-plan) print_plan=1; shift ;;
  --period) period=$2; shift 2 ;;
  --models) models=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --report) report_only=$2; shift 2 ;;
  *) usage ;;
  esac
done
EXP=scripts/lib/experiments.py
# A lab of its own: a lab the user keeps up (scripts/lab.sh up) is left alone.
export DFAAS_LAB_ID=${DFAAS_LAB_ID:-exp}

plots() {  # DIR: per scenario <scenario>.gp and its PNG: HTTP 200, failures and p99 per second
  local dir=$1 name s
  for name in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["scenarios"]))' "$dir/experiment.json"); do
    local success=() failed=() latency=() first="" colour=0 data
    for s in ${strategies//,/ }; do
      data=$dir/$name-$s.dat
      [[ -s $data ]] || continue
      [[ -z $first ]] && first=$s
      colour=$((colour + 1))  # one colour per strategy in every panel
      # Columns: PLOT_COLUMNS in scripts/lib/experiments.py; the bands are the min-max over the
      # repetitions (zero width with one).
      success+=("\"$data\" using 1:8:9 with filledcurves fs transparent solid 0.2 noborder lc $colour notitle"
        "\"$data\" using 1:3 with lines lw 2 lc $colour title \"$s\"")
      failed+=("\"$data\" using 1:4 with lines lw 2 lc $colour title \"$s\"")
      latency+=("\"$data\" using 1:11:12 with filledcurves fs transparent solid 0.2 noborder lc $colour notitle"
        "\"$data\" using 1:10 with lines lw 2 lc $colour title \"$s\"")
    done
    [[ -n $first ]] || continue
    local IFS=,
    cat >"$dir/$name.gp" <<EOF
set terminal pngcairo size 1100,1000 font ",10"
set output "$dir/$name.png"
set datafile missing "?"
set multiplot layout 3,1 title "DFaaS lab, scenario ${name^^} (scale $scale, durations x $timescale, mean of $repeat run(s); bands: min-max over the runs)"
set xlabel "second"
set ylabel "requests/s"
set key outside right
set grid
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set title "HTTP 200 per second (dashed: offered)"
plot ${success[*]}, "$dir/$name-$first.dat" using 1:2 with lines lw 1 dashtype 2 lc rgb "black" title "offered"
set title "failed requests per second (429, reset, timeout)"
plot ${failed[*]}
set title "p99 latency per second (worst stream, any status)"
set ylabel "ms"
set logscale y
set yrange [*:*]
set offsets 0, 0, 0, 0
plot ${latency[*]}
unset multiplot
EOF
    unset IFS
    gnuplot "$dir/$name.gp" || echo "experiment: gnuplot failed on $dir/$name.gp" >&2
  done
}

if [[ -n $report_only ]]; then
  strategies=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["strategies"]))' "$report_only/experiment.json")
  repeat=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("repeat", 1))' "$report_only/experiment.json")
  python3 "$EXP" report "$report_only"
  plots "$report_only"
  exit 0
fi

[[ $repeat =~ ^[0-9]+$ ]] && ((repeat >= 1 && repeat <= 100)) ||
  { echo "experiment: --repeat '$repeat': expected a whole number from 1 to 100" >&2; exit 2; }
[[ $period =~ ^[0-9]+[sm]$ ]] ||
  { echo "experiment: --period '$period': expected whole seconds or minutes, e.g. 5s or 1m" >&2; exit 2; }
for name in ${scenarios//,/ }; do
  python3 "$EXP" streams "$name" 1 1 >/dev/null || exit 2
done
for s in ${strategies//,/ }; do
  case $s in alllocal | static | recalc | recalc-ref | nodemargin) ;; *) echo "experiment: unknown strategy $s" >&2; exit 2 ;; esac
done
if [[ ,$strategies, == *,nodemargin,* && ! -d $models ]]; then
  echo "experiment: no forecaster models in $models (--models DIR): Node Margin skipped" >&2
  strategies=$(sed 's/\(^\|,\)nodemargin//; s/^,//' <<<"$strategies")
fi
if [[ -n $print_plan ]]; then
  python3 "$EXP" plan "$scenarios" "$strategies" "$scale" "$timescale" "$period" "$scrape" "$repeat"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "experiment: needs root (network namespaces, eBPF)" >&2; exit 1; }
if [[ ! -x build/bin/dfaas-agent || ! -x build/bin/dfaas-loadgen ]]; then scripts/setup.sh; fi

out=${out:-results/experiment-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
python3 - "$out/experiment.json" "$scenarios" "$strategies" "$scale" "$timescale" "$period" "$scrape" "$repeat" <<'PY'
import json, sys
path, scenarios, strategies, scale, timescale, period, scrape, repeat = sys.argv[1:]
json.dump({"scenarios": scenarios.split(","), "strategies": strategies.split(","),
           "scale": float(scale), "timescale": float(timescale), "period": period,
           "scrape": scrape, "repeat": int(repeat)}, open(path, "w"), indent=2)
PY
trap 'scripts/lab.sh down >/dev/null 2>&1 || true' EXIT
scripts/lab.sh down >/dev/null 2>&1 || true

total=$(($(tr ',' '\n' <<<"$scenarios" | wc -l) * $(tr ',' '\n' <<<"$strategies" | wc -l) * repeat))
n=0
run() {  # SCENARIO STRATEGY REPETITION
  local name=$1 s=$2 dir="$out/$1/$2/rep-$3"
  n=$((n + 1))
  mkdir -p "$dir"
  python3 "$EXP" functions "$name" "$scale" "$dir/functions"
  local extra=() lab_strategy=$s
  [[ $s == nodemargin ]] && extra=(--models "$models")
  if [[ $s == recalc-ref ]]; then
    lab_strategy=recalc
    printf 'strategy:\n  recalc:\n    overflow: overloaded\n' >"$dir/agent.yaml"
    extra=(--config "$dir/agent.yaml")
  fi
  local nodes
  read -r -a nodes <<<"$(python3 "$EXP" nodes "$name")"
  echo "experiment: [$n/$total] $name $s (repetition $3 of $repeat): starting the lab..." >&2
  scripts/lab.sh up --nodes "${#nodes[@]}" --strategy "$lab_strategy" --period "$period" \
    --scrape "$scrape" \
    --functions "$dir/functions" "${extra[@]}" >"$dir/lab.txt" 2>&1 ||
    { cat "$dir/lab.txt" >&2; return 1; }
  # Two periods: the first decisions and peer messages are in before the load starts.
  local period_seconds=${period%[sm]}
  [[ $period == *m ]] && period_seconds=$((period_seconds * 60))
  sleep $((2 * period_seconds))
  local pids=() node function port stages first=1 load_start load_end
  load_start=$(date +%s)
  while read -r node function port stages; do
    local ip
    ip=$(awk -v n="$node" '$1 == n {print $4}' /run/dfaas-$DFAAS_LAB_ID/lab.env)
    local progress=(--quiet)
    if ((first)) && [[ -t 2 ]]; then progress=(); fi
    first=0
    echo "experiment: [$n/$total] $name $s: $function on $node ($stages)" >&2
    scripts/lab.sh exec client build/bin/dfaas-loadgen --stages "$stages" --timeout 3s \
      --body 'DFaaS' --target "http://$ip:$port/function/$function" \
      --timeline "$dir/timeline-$node-$function.csv" --json \
      --output "$dir/report-$node-$function.json" "${progress[@]}" &
    pids+=($!)
  done < <(python3 "$EXP" streams "$name" "$scale" "$timescale")
  # Faults of the scenario (T4: node b's agent and gateway killed, started again later), at their
  # second of the load; what happened when goes to faults.txt.
  local fault_pid=""
  if [[ -n $(python3 "$EXP" faults "$name" "$timescale") ]]; then
    faults "$name" "$load_start" "$dir/faults.txt" &
    fault_pid=$!
  fi
  local rc=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  [[ -z $fault_pid ]] || wait "$fault_pid" || echo "experiment: [$n/$total] a fault step failed (see $dir/faults.txt)" >&2
  load_end=$(date +%s)
  # Each node's Prometheus series over the load (plus a scrape on either side), from inside the
  # node (its Prometheus listens on the namespace's loopback); a failure is a warning, no file.
  local scrape_seconds=${scrape%s}
  for node in "${nodes[@]}"; do
    scripts/lab.sh exec "$node" python3 "$EXP" prometheus http://127.0.0.1:9090 \
      $((load_start - scrape_seconds)) $((load_end + scrape_seconds)) "$scrape_seconds" \
      "$dir/prometheus-$node.csv" || true
  done
  scripts/lab.sh status >"$dir/status.txt" 2>&1 || true
  for node in "${nodes[@]}"; do
    scripts/lab.sh exec "$node" curl -s --max-time 2 http://127.0.0.1:9080/v1/stats \
      >"$dir/stats-$node.json" 2>/dev/null || true
  done
  cp -r /run/dfaas-$DFAAS_LAB_ID/logs "$dir/logs" 2>/dev/null || true
  scripts/lab.sh down >/dev/null 2>&1
  python3 "$EXP" csv "$dir" "$name" || echo "experiment: [$n/$total] no per-second.csv in $dir" >&2
  ((rc == 0)) || echo "experiment: [$n/$total] $name $s: a load generator failed (see $dir)" >&2
}

faults() {  # SCENARIO LOAD_START FILE: runs the scenario's stop/start steps at their seconds
  local name=$1 load_start=$2 file=$3 node stop_at start_at
  : >"$file"
  while read -r node stop_at start_at; do
    sleep_until $((load_start + stop_at))
    echo "$(date +%s) second $(($(date +%s) - load_start)): stop $node" >>"$file"
    scripts/lab.sh stop "$node" >>"$file" 2>&1 || return 1
    sleep_until $((load_start + start_at))
    echo "$(date +%s) second $(($(date +%s) - load_start)): start $node" >>"$file"
    scripts/lab.sh start "$node" >>"$file" 2>&1 || return 1
    echo "$(date +%s) second $(($(date +%s) - load_start)): $node ready" >>"$file"
  done < <(python3 "$EXP" faults "$name" "$timescale")
}
sleep_until() { local left=$(($1 - $(date +%s))); ((left <= 0)) || sleep "$left"; }

start=$SECONDS
for ((rep = 1; rep <= repeat; rep++)); do
  for name in ${scenarios//,/ }; do
    for s in ${strategies//,/ }; do run "$name" "$s" "$rep"; done
  done
done
echo "experiment: all runs done in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s" >&2
python3 "$EXP" report "$out"
plots "$out"
echo "experiment: tables (results.md), plots (<scenario>.png) and raw data in $out" >&2
