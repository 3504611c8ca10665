#!/usr/bin/env python3
"""The reference's experiments T1-T3 and T4, T5 beyond them, scaled to this machine (used by
scripts/experiment.sh).

  experiments.py functions SCENARIO SCALE DIR [MODEL]
                                                    writes DIR/{light,mid,heavy}.yaml (T5:
                                                    DIR/{a..f}.yaml, a node's own functions);
                                                    MODEL is node (default) or maxrate (the old
                                                    model)
  experiments.py streams SCENARIO SCALE TIMESCALE  prints "NODE FUNCTION PORT STAGES" lines
  experiments.py faults SCENARIO TIMESCALE          prints "NODE STOP_SECOND START_SECOND" lines
                                                    (T4: node b killed and started again)
  experiments.py plan SCENARIOS STRATEGIES SCALE TIMESCALE PERIOD SCRAPE REPEAT
                                                    prints what experiment.sh would run
  experiments.py nodes SCENARIO                     prints the scenario's lab nodes (a b c; T5 a-f)
  experiments.py csv RUN_DIR [SCENARIO]             RUN_DIR/per-second.csv from its timelines
  experiments.py prometheus URL START END STEP CSV  CSV (timestamp, series, value) from the
                                                    Prometheus at URL (loopback) over [START, END]
                                                    (UNIX seconds), STEP = scrape interval, s
  experiments.py report OUT                         tables (stdout, OUT/results.md), OUT/results.json,
                                                    gnuplot data OUT/<scenario>-<strategy>.dat,
                                                    per-second.csv of every run

A cell (scenario, strategy) is OUT/<scenario>/<strategy>/ with one directory per repetition,
rep-1, rep-2, ... (a run of an older layout keeps its files in the cell directory itself: one
repetition). The tables give the mean over the repetitions and, with more than one, min-max.

Scaling: rates and maxrates are multiplied by SCALE, durations by TIMESCALE.

Capacity (docs/experiments.md, "Node model"): by default each node file has a node model that
belongs to no strategy: the reference's CPUs per node type (light 2, mid 4, heavy 6) shared by
its functions, each request holding a virtual CPU for COST_MS / SCALE, calibrated once from the
reference's published rates; a bounded queue per function and a timeout. The dfaas.maxrate labels
stay the published ones. MODEL maxrate writes the old files instead: every request takes 40.2 ms
and a function admits max_inflight = ceil(maxrate x 1.1 x 40.2 ms) requests at once, so the
lab's capacity is about 10 % above the maxrate Recalc believes.
"""
import csv
import json
import math
import os
import sys

NODES = {"a": ("light", 1), "b": ("mid", 2), "c": ("heavy", 3)}
PORTS = {"figlet": 31001, "shasum": 31002, "env": 31003}
SERVICE_MS = 40.2  # sleep_ms + cpu_ms of every simulated function

# Published by the reference (3 nodes light/mid/heavy, vegeta, success = HTTP 200 ratio).
SCENARIOS = {
    "t1": {
        "title": "T1: 250 req/s of figlet on Light for {duration}",
        "maxrates": {"figlet": {"light": 200, "mid": 450, "heavy": 700}},
        # (node, function, [(from_min, to_min, rate)])
        "streams": [("a", "figlet", [(0, 5, 250)])],
        "phases": [(0, 5)],
        "published": {"nodemargin": "97.63 % (p99 1.541 s)", "recalc": "95.58 % (p99 679 ms)"},
    },
    "t2": {
        "title": "T2: figlet and shasum on Mid, figlet 100 then 300 req/s, shasum 50 req/s, {duration}",
        "maxrates": {"figlet": {"light": 100, "mid": 225, "heavy": 350},
                     "shasum": {"light": 100, "mid": 225, "heavy": 350}},
        "streams": [("b", "figlet", [(0, 5, 100), (5, 10, 300)]),
                    ("b", "shasum", [(0, 10, 50)])],
        "phases": [(0, 5), (5, 10)],
        "published": {"nodemargin": "99.54 %", "recalc": "95.11 %"},
    },
    "t3": {
        "title": "T3: figlet on all three nodes, {duration} in three phases",
        "maxrates": {"figlet": {"light": 200, "mid": 450, "heavy": 700}},
        "streams": [("a", "figlet", [(0, 15, 350)]),
                    ("b", "figlet", [(0, 5, 0), (5, 10, 100), (10, 15, 600)]),
                    ("c", "figlet", [(0, 5, 0), (5, 15, 100)])],
        "phases": [(0, 5), (5, 10), (10, 15)],
        "published": {"nodemargin": "93.82 %", "recalc": "95.44 %"},
    },
}
# Beyond the reference (issue 20): T4 = T3 with node b's agent and gateway killed at 2/3 of the
# run (scripts/lab.sh stop b: SIGKILL, its data plane keeps its last policies) and started again
# 60 s later (both times scaled like every duration). What is lost, and how fast the others adapt.
SCENARIOS["t4"] = dict(SCENARIOS["t3"],
                       title="T4: T3 with node b's agent and gateway killed at 2/3 of the run and "
                             "started again 60 s later, {duration}",
                       phases=[(0, 5), (5, 10), (10, 11), (11, 15)],
                       # (node, stop at minute, start at minute)
                       faults=[("b", 10, 11)],
                       published={})

# T5 (issue 20, beyond the reference): 6 nodes, the lab's types in turn (a, d light; b, e mid;
# c, f heavy), 12 functions of the lab's three kinds, each node the entry of two ("home")
# functions and a guest of four of its peers' functions, so every function runs on three nodes.
# Node X's first home function also runs on the next two nodes, its second on the two after
# those: a surging node's overflow has four peers, two per function. Six equal phases; in phase i
# the i-th node's two home streams surge to 175 % of its node model's capacity (published rate
# per type: light 350, mid 700, heavy 1050 req/s, against 225 / 450 / 675), every other stream
# stays at 44 % of its node's capacity (100 / 200 / 300 req/s), which the node serves alone; the
# overflow of a surge (light 125, mid 250, heavy 375 req/s) fits in the room of its four peers at
# base load even when it reaches only the two peers of one function. maxrates are T2's, half the
# published node rate per function (100 / 225 / 350): Recalc keeps 2 x maxrate of a surge local.
T5_NODES = ["a", "b", "c", "d", "e", "f"]
T5_NODE_TYPES = {"a": "light", "b": "mid", "c": "heavy", "d": "light", "e": "mid", "f": "heavy"}
T5_FUNCTIONS = [f"{kind}-{i}" for i in range(1, 5) for kind in ("figlet", "shasum", "env")]
T5_HOME = {node: T5_FUNCTIONS[2 * i:2 * i + 2] for i, node in enumerate(T5_NODES)}
T5_BASE_RATE = {"light": 50, "mid": 100, "heavy": 150}  # per home function
T5_SURGE_RATE = {"light": 175, "mid": 350, "heavy": 525}  # per home function
T5_PHASE_MINUTES = 2.5


def t5_placement():
    """node -> its functions: its two home functions, then the guests of its peers."""
    placement = {node: list(T5_HOME[node]) for node in T5_NODES}
    for i, node in enumerate(T5_NODES):
        first, second = T5_HOME[node]
        for offset, function in ((1, first), (2, first), (3, second), (4, second)):
            placement[T5_NODES[(i + offset) % len(T5_NODES)]].append(function)
    return placement


def t5_streams():
    streams = []
    for surge_index, node in enumerate(T5_NODES):
        node_type = T5_NODE_TYPES[node]
        for function in T5_HOME[node]:
            stages = [(T5_PHASE_MINUTES * p, T5_PHASE_MINUTES * (p + 1),
                       T5_SURGE_RATE[node_type] if p == surge_index else T5_BASE_RATE[node_type])
                      for p in range(len(T5_NODES))]
            streams.append((node, function, stages))
    return streams


SCENARIOS["t5"] = {
    "title": "T5: 6 nodes, 12 functions, each node's load surging in turn (a, b, c, d, e, f), "
             "{duration}",
    "nodes": T5_NODES,
    "node_types": T5_NODE_TYPES,
    "placement": t5_placement(),
    "ports": {function: 31011 + i for i, function in enumerate(T5_FUNCTIONS)},
    # 6 functions a node: 6 x 32 waiting + 6 CPUs + 16 spare within the lab's 256 threads.
    "queue": 32,
    "maxrates": {},
    "streams": t5_streams(),
    "phases": [(T5_PHASE_MINUTES * p, T5_PHASE_MINUTES * (p + 1)) for p in range(len(T5_NODES))],
    "surges": T5_NODES,  # phase i: the node whose home streams surge
    "published": {},
}
STRATEGY_NAMES = {"alllocal": "All-Local", "static": "Static",
                  "recalc-ref": "Recalc, reference overflow", "recalc": "Recalc, standby overflow",
                  "nodemargin": "Node Margin"}
# The published figures are the reference's Recalc (what recalc-ref reproduces).
PUBLISHED_AS = {"recalc-ref": "recalc"}


def die(message):
    print(f"experiments: {message}", file=sys.stderr)
    sys.exit(2)


def scenario(name):
    if name not in SCENARIOS:
        die(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    return SCENARIOS[name]


def nodes_of(name):
    """The scenario's lab nodes, in lab order (scripts/lab.sh up --nodes N names them a, b, ...)."""
    return scenario(name).get("nodes", ["a", "b", "c"])


def ports_of(name):
    return scenario(name).get("ports", PORTS)


def max_inflight(maxrate):
    return max(1, math.ceil(maxrate * 1.1 * SERVICE_MS / 1000.0))


# ---- the node model (docs/experiments.md, "Node model") -------------------------------------

# The reference's test bed (dfaas-reference.md §9.2): CPUs and RAM of each VM type.
NODE_CPUS = {"light": 2, "mid": 4, "heavy": 6}
NODE_MEMORY_MB = {"light": 8192, "mid": 16384, "heavy": 24576}
# Its published rates per node: figlet alone in T1 and T3 (200 / 450 / 700 req/s); T2's figlet
# and shasum (100 + 100 / 225 + 225 / 350 + 350) add up to the same. The node model's capacity
# is cpus x 1000 / cost_ms, so one cost for all three types, fitted on the totals:
# 12 CPUs / 1350 req/s = 8.889 ms of CPU per request (capacity 225 / 450 / 675 req/s).
PUBLISHED_NODE_RATES = {"light": 200, "mid": 450, "heavy": 700}
COST_MS = 1000.0 * sum(NODE_CPUS.values()) / sum(PUBLISHED_NODE_RATES.values())
# Not calibrated (the reference published no per-request memory): the forecaster's training data's
# lowest node RAM (2.65675008e9 B) as the base system, a small container per replica and per
# request. They move node_memory_* only; no strategy in the lab decides from them.
BASE_MEMORY_MB = 2534
FUNCTION_MEMORY_MB = 64
REQUEST_MEMORY_MB = 1
# The watchdog's queue and timeout: 64 waiting requests per function keep the three functions'
# threads (3 x 64 + 6 CPUs + 16 spare) within the 256 the lab gives each simulator; 2 s is under
# the load generator's 3 s timeout, so a function's timeout shows as its 502, not as a client
# timeout (the reference's rule: function < gateway < client).
QUEUE = 64
TIMEOUT_MS = 2000
MODELS = ("node", "maxrate")


def function_lines(function, port, maxrate, model, cost_ms, queue=QUEUE):
    kind = function.partition("-")[0]  # T5's figlet-1, ... are figlets
    lines = [
        f"  - name: {function}",
        f"    image: ghcr.io/openfaas/{kind}:latest",
        f"    behaviour: {kind}",
        "    replicas: 1",
    ]
    if model == "node":
        lines += [
            f"    cost_ms: {cost_ms:.4f}",
            f"    queue: {queue}",
            f"    timeout_ms: {TIMEOUT_MS}",
            f"    memory_mb: {FUNCTION_MEMORY_MB}",
            f"    request_memory_mb: {REQUEST_MEMORY_MB}",
        ]
    else:
        lines += ["    sleep_ms: 40", "    cpu_ms: 0.2",
                  f"    max_inflight: {max_inflight(maxrate)}"]
    return lines + [
        "    labels:",
        f"      dfaas.maxrate: \"{maxrate}\"",
        "      dfaas.group: LOW_USAGE",
        f"      dfaas.port: \"{port}\"",
    ]


def write_functions(name, scale, directory, model="node"):
    """Every node runs figlet, shasum and env; the scenario's maxrates, the rest at 100/225/350.
    model "node": the node model of the node's type, its CPU cost scaled with the rates;
    "maxrate": the old capacity of 10 % above each maxrate."""
    if model not in MODELS:
        die(f"unknown capacity model {model!r} (known: {', '.join(MODELS)})")
    if not scale > 0:
        die(f"scale must be above 0, got {scale}")
    info = scenario(name)
    maxrates = info["maxrates"]
    default = {"light": 100, "mid": 225, "heavy": 350}
    cost_ms = COST_MS / scale
    ports = ports_of(name)
    queue = info.get("queue", QUEUE)
    # A scenario with a placement gets a file per node (DIR/<node>.yaml, which scripts/lab.sh
    # prefers to DIR/<type>.yaml); the others one per node type, every node running all functions.
    if "placement" in info:
        files = [(node, info["node_types"][node], info["placement"][node])
                 for node in info["nodes"]]
    else:
        files = [(node_type, node_type, list(ports)) for node_type in ("light", "mid", "heavy")]
    os.makedirs(directory, exist_ok=True)
    for file_name, node_type, functions in files:
        lines = [f"# {name} scaled by {scale}, {model} model: "
                 "written by scripts/lib/experiments.py"]
        if model == "node":
            lines.append(f"node: {{cpus: {NODE_CPUS[node_type]}, memory_mb: "
                         f"{NODE_MEMORY_MB[node_type]}, base_memory_mb: {BASE_MEMORY_MB}}}")
        lines.append("functions:")
        for function in functions:
            maxrate = max(1, round(maxrates.get(function, default)[node_type] * scale))
            lines += function_lines(function, ports[function], maxrate, model, cost_ms, queue)
        with open(os.path.join(directory, f"{file_name}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")


def seconds(minutes, timescale):
    return round(minutes * 60 * timescale)


def published_minutes(name):
    return max(b for _, _, stages in scenario(name)["streams"] for _, b, _ in stages)


def human_duration(total_seconds):
    minutes, rest = divmod(int(total_seconds), 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes else f"{rest} s"


def title(name, timescale):
    """The scenario's heading with the duration this run has, and the published one if it differs."""
    published = published_minutes(name)
    ran = seconds(published, timescale)
    duration = human_duration(ran)
    if ran != published * 60:
        duration += f" (published: {published:g} min)"
    return scenario(name)["title"].format(duration=duration)


def print_streams(name, scale, timescale):
    for node, function, stages in scenario(name)["streams"]:
        text = ",".join(f"{seconds(a, timescale)}-{seconds(b, timescale)}s:{rate * scale:g}"
                        for a, b, rate in stages)
        print(node, function, ports_of(name)[function], text)


def faults(name, timescale):
    """(node, stop second, start second) of the scenario's faults, in the run's time."""
    return [(node, seconds(stop, timescale), seconds(start, timescale))
            for node, stop, start in scenario(name).get("faults", [])]


def print_plan(scenarios, strategies, scale, timescale, period, scrape, repeat):
    names = scenarios.split(",")
    runs = len(names) * len(strategies.split(",")) * repeat
    load = sum(seconds(published_minutes(n), timescale) for n in names) * len(
        strategies.split(",")) * repeat
    print(f"strategies: {strategies}")
    print(f"repetitions: {repeat} per (scenario, strategy), each on a fresh lab")
    print(f"scale: {scale:g} (rates and maxrates); durations x {timescale:g}")
    print(f"agent period: {period}; Prometheus scrape: {scrape}")
    for name in names:
        print(f"scenario {name}: {title(name, timescale)}")
        print(f"  duration: {seconds(published_minutes(name), timescale)} s")
        info = scenario(name)
        if "placement" in info:
            types = info["node_types"]
            print("  nodes: " + " ".join(f"{n} ({types[n]})" for n in info["nodes"]))
            for node in info["nodes"]:
                print(f"  functions on {node}: {' '.join(info['placement'][node])}")
        for phase, node in enumerate(info.get("surges", [])):
            a, b = info["phases"][phase]
            print(f"  phase {phase + 1} ({seconds(a, timescale)}-{seconds(b, timescale)} s): "
                  f"node {node} surges")
        for node, function, stages in scenario(name)["streams"]:
            text = ",".join(f"{seconds(a, timescale)}-{seconds(b, timescale)}s:{rate * scale:g}"
                            for a, b, rate in stages)
            print(f"  stream {node} {function}: --stages {text}")
        for node, stop_s, start_s in faults(name, timescale):
            print(f"  fault: node {node}'s agent and gateway killed at second {stop_s}, "
                  f"started again at second {start_s}")
    print(f"runs: {runs}; load time {human_duration(load)} (each run adds the lab's start-up, "
          "two agent periods before the load, and its teardown)")


# ---- report -------------------------------------------------------------------------------

def load_run(run_dir):
    """The streams of one run (one repetition of a cell): reports and per-second timelines."""
    streams = []
    for entry in sorted(os.listdir(run_dir)):
        if not (entry.startswith("report-") and entry.endswith(".json")):
            continue
        key = entry[len("report-"):-len(".json")]
        report = json.load(open(os.path.join(run_dir, entry)))
        timeline_path = os.path.join(run_dir, f"timeline-{key}.csv")
        rows = list(csv.DictReader(open(timeline_path))) if os.path.exists(timeline_path) else []
        streams.append((key, report, rows))
    return streams


def repetition_dirs(cell_dir):
    """rep-1, rep-2, ... in order; a cell of the older layout is its own single repetition."""
    reps = [e for e in os.listdir(cell_dir)
            if e.startswith("rep-") and e[4:].isdigit() and os.path.isdir(os.path.join(cell_dir, e))]
    if reps:
        return [os.path.join(cell_dir, e) for e in sorted(reps, key=lambda e: int(e[4:]))]
    return [cell_dir]


def per_second(streams, nodes="abc", only_node=None):
    """Seconds -> summed counters over every stream (over the streams entering only_node, when
    given), with the responses each of nodes served."""
    total = {}
    for key, _, rows in streams:
        if only_node is not None and key.partition("-")[0] != only_node:
            continue
        for row in rows:
            second = int(row["second"])
            slot = total.setdefault(second, {"issued": 0, "ok": 0, **{n: 0 for n in nodes}})
            slot["issued"] += int(row["issued"] or 0)
            slot["ok"] += int(row.get("http_200") or 0)
            for node in nodes:
                slot[node] += int(row.get(f"served_by_node-{node}") or 0)
    return total


# Columns of per-second.csv (documented in docs/experiments.md, "Per-second CSV"); the served_by
# and per-node latency columns follow the scenario's nodes (a, b, c but for T5).
def csv_columns(nodes="abc"):
    return (["second", "node", "function", "offered", "http_200", "success_ratio",
             "rejected_429", "refused", "reset", "timeouts", "other_failures", "p50_ms",
             "p99_ms"] + [f"served_by_{n}" for n in nodes]
            + [f"{p}_ms_{n}" for n in nodes for p in ("p50", "p99")])


CSV_COLUMNS = csv_columns()


def csv_rows(streams, nodes="abc"):
    """One row per (second, stream) from loadgen's timelines; a stream is NODE-FUNCTION."""
    rows = []
    for key, _, timeline in streams:
        node, _, function = key.partition("-")
        for row in timeline:
            def count(column):
                return int(row.get(column) or 0)
            offered = count("issued")
            ok = count("http_200")
            rejected = count("code_429")
            refused, reset, timeouts = count("error_refused"), count("error_reset"), count(
                "error_timeout")
            rows.append({
                "second": int(row["second"]), "node": node, "function": function,
                "offered": offered, "http_200": ok,
                "success_ratio": f"{ok / offered:.4f}" if offered else "",
                "rejected_429": rejected, "refused": refused, "reset": reset,
                "timeouts": timeouts,
                "other_failures": offered - ok - rejected - refused - reset - timeouts,
                "p50_ms": row.get("p50_ms", ""), "p99_ms": row.get("p99_ms", ""),
                **{f"served_by_{n}": count(f"served_by_node-{n}") for n in nodes},
                **{f"{p}_ms_{n}": row.get(f"{p}_ms_node-{n}", "") for n in nodes
                   for p in ("p50", "p99")},
            })
    rows.sort(key=lambda r: (r["second"], r["node"], r["function"]))
    return rows


def write_csv(run_dir, streams=None, nodes="abc"):
    streams = load_run(run_dir) if streams is None else streams
    with open(os.path.join(run_dir, "per-second.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=csv_columns(nodes), lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_rows(streams, nodes))


def summarize(name, streams, timescale):
    info = scenario(name)
    requests = sum(r["requests"] for _, r, _ in streams)
    ok = sum(int(r.get("status_codes", {}).get("200", 0)) for _, r, _ in streams)
    codes = {}
    errors = {}
    served = {}
    for _, r, _ in streams:
        for code, n in r.get("status_codes", {}).items():
            codes[code] = codes.get(code, 0) + int(n)
        for kind, n in r.get("error_kinds", {}).items():
            errors[kind] = errors.get(kind, 0) + int(n)
        for node, n in r.get("served_by", {}).items():
            served[node] = served.get(node, 0) + int(n)
    def ratio(table, phase):
        lo, hi = (seconds(m, timescale) for m in phase)
        issued = sum(v["issued"] for s, v in table.items() if lo <= s < hi)
        good = sum(v["ok"] for s, v in table.items() if lo <= s < hi)
        return good / issued if issued else None

    phases = [ratio(per_second(streams), phase) for phase in info["phases"]]
    # Scenarios with surges (T5): per phase, the success of the surging node's own streams and of
    # every other stream.
    surging, steady = [], []
    for phase, node in zip(info["phases"], info.get("surges", [])):
        surging.append(ratio(per_second(streams, only_node=node), phase))
        others = [s for s in streams if s[0].partition("-")[0] != node]
        steady.append(ratio(per_second(others), phase))
    p99 = max((r["latencies"]["99th"] for _, r, _ in streams if r["requests"]), default=0)
    p50 = max((r["latencies"]["50th"] for _, r, _ in streams if r["requests"]), default=0)
    return {
        "requests": requests,
        "http_200": ok,
        "success": ok / requests if requests else 0.0,
        "phases": phases,
        **({"surging_phases": surging, "steady_phases": steady} if "surges" in info else {}),
        "p50_ms": p50 / 1e6,
        "p99_ms": p99 / 1e6,
        "status_codes": codes,
        "errors": errors,
        "served_by": served,
        "rejected": codes.get("429", 0) + errors.get("refused", 0),
        "timeouts": errors.get("timeout", 0),
    }


def spread(values):
    """{"mean", "min", "max"} of the values that exist (None when none do)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"mean": sum(present) / len(present), "min": min(present), "max": max(present)}


def aggregate(summaries, nodes="abc"):
    """Mean and min-max over the repetitions of one cell."""
    phases = len(summaries[0]["phases"])
    surges = {key: [spread([s[key][i] for s in summaries]) for i in range(phases)]
              for key in ("surging_phases", "steady_phases") if key in summaries[0]}
    return {
        "runs": len(summaries),
        **{key: spread([s[key] for s in summaries])
           for key in ("requests", "success", "p50_ms", "p99_ms", "rejected", "timeouts")},
        "phases": [spread([s["phases"][i] for s in summaries]) for i in range(phases)],
        **surges,
        "served_by": {f"node-{n}": spread([s["served_by"].get(f"node-{n}", 0) for s in summaries])
                      for n in nodes},
    }


def percent(x):
    return "-" if x is None else f"{100 * x:.2f} %"


def with_range(value, runs, show, show_bound=None):
    """ "mean" with one run, "mean (min-max)" with more; show formats the mean (and the bounds
    unless show_bound is given)."""
    if value is None:
        return "-"
    if runs == 1:
        return show(value["mean"])
    bound = show_bound or show
    return f"{show(value['mean'])} ({bound(value['min'])}–{bound(value['max'])})"


def table(rows, header):
    width = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(width[i]) for i, h in enumerate(header)) + " |",
             "|" + "|".join("-" * (w + 2) for w in width) + "|"]
    lines += ["| " + " | ".join(c.ljust(width[i]) for i, c in enumerate(r)) + " |" for r in rows]
    return "\n".join(lines)


def report(out):
    meta = json.load(open(os.path.join(out, "experiment.json")))
    timescale = meta["timescale"]
    repeat = meta.get("repeat", 1)
    results = {}
    text = [f"Scale {meta['scale']} (rates and maxrates), durations x {timescale}, agent period "
            f"{meta['period']}, Prometheus scrape {meta['scrape']}, {repeat} "
            f"repetition{'s' if repeat != 1 else ''} per cell (mean, and min–max over the "
            "repetitions when there are several).", ""]
    pct = percent
    ms = lambda v: f"{v:.1f} ms"  # noqa: E731
    whole = lambda v: f"{v:.0f}"  # noqa: E731
    for name in meta["scenarios"]:
        info = scenario(name)
        nodes = nodes_of(name)
        rows, surge_rows = [], []
        results[name] = {}
        for strategy in meta["strategies"]:
            cell_dir = os.path.join(out, name, strategy)
            if not os.path.isdir(cell_dir):
                continue
            summaries = []
            runs = []
            for run_dir in repetition_dirs(cell_dir):
                streams = load_run(run_dir)
                if not streams:
                    continue
                write_csv(run_dir, streams, nodes)
                summaries.append(summarize(name, streams, timescale))
                runs.append(streams)
            if not summaries:
                continue
            cell = aggregate(summaries, nodes)
            results[name][strategy] = {**cell, "repetitions": summaries}
            write_plot_data(out, name, strategy, runs, nodes)
            n = cell["runs"]
            rows.append([
                STRATEGY_NAMES.get(strategy, strategy), str(n), with_range(cell["requests"], 1, whole),
                with_range(cell["success"], n, pct, lambda v: f"{100 * v:.2f}"),
                " / ".join(with_range(p, 1, pct) for p in cell["phases"]),
                with_range(cell["p50_ms"], 1, ms),
                with_range(cell["p99_ms"], n, ms, lambda v: f"{v:.1f}"),
                " / ".join(whole(cell["served_by"][f"node-{x}"]["mean"]) for x in nodes),
                with_range(cell["rejected"], n, whole), with_range(cell["timeouts"], n, whole),
                info["published"].get(PUBLISHED_AS.get(strategy, strategy), "-"),
            ])
            if "surging_phases" in cell:
                surge_rows.append([STRATEGY_NAMES.get(strategy, strategy)] + [
                    f"{with_range(a, 1, pct)} / {with_range(b, 1, pct)}"
                    for a, b in zip(cell["surging_phases"], cell["steady_phases"])])
        if not rows:
            continue
        phase_heading = "per phase"
        if "surges" in info:
            phase_heading += f" (surge on {' / '.join(info['surges'])})"
        text += [f"### {title(name, timescale)}", "", table(rows, [
            "strategy", "runs", "requests", "HTTP 200", phase_heading, "p50",
            "p99 (worst stream)", f"served by {' / '.join(nodes)}", "rejected (429 + reset)",
            "timeouts", "reference (published)"]), ""]
        if surge_rows:
            text += ["HTTP 200 per phase: the surging node's own streams / every other stream.", "",
                     table(surge_rows, ["strategy"] + [f"surge on {n}" for n in info["surges"]]),
                     ""]
    json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=2)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(text))
    print("\n".join(text))


# Columns of <scenario>-<strategy>.dat, 1-based as gnuplot counts them (plots() in experiment.sh);
# a scenario with more nodes than a, b, c (T5) appends served_d, served_e, ... after them, so the
# plotted columns keep their numbers.
PLOT_COLUMNS = ["second", "offered", "http_200", "failed", "served_a", "served_b", "served_c",
                "http_200_min", "http_200_max", "p99_ms", "p99_ms_min", "p99_ms_max"]


def plot_columns(nodes="abc"):
    return PLOT_COLUMNS + [f"served_{n}" for n in nodes if n not in "abc"]


def worst_p99_per_second(streams):
    """Seconds -> the highest per-second p99 of any stream, ms (the table's "worst stream"); a
    second in which no stream had a response has none."""
    worst = {}
    for _, _, rows in streams:
        for row in rows:
            text = row.get("p99_ms") or ""
            if not text:
                continue
            second = int(row["second"])
            worst[second] = max(worst.get(second, 0.0), float(text))
    return worst


def write_plot_data(out, name, strategy, runs, nodes="abc"):
    """Per second: the means over the repetitions, the min and max of HTTP 200, then p99 latency
    (worst stream) as mean, min and max over the repetitions that had responses in that second
    ("?" when none had: gnuplot leaves a gap)."""
    tables = [per_second(streams, nodes) for streams in runs]
    latencies = [worst_p99_per_second(streams) for streams in runs]
    extra_nodes = [n for n in nodes if n not in "abc"]
    with open(os.path.join(out, f"{name}-{strategy}.dat"), "w") as f:
        f.write("# " + " ".join(plot_columns(nodes)) + " (means over the repetitions, min and max "
                "across them; p99 of the worst stream, ms)\n")
        for second in sorted(set().union(*tables)):
            slots = [t[second] for t in tables if second in t]

            def mean(key):
                return sum(v.get(key, 0) for v in slots) / len(slots)
            oks = [v["ok"] for v in slots]
            p99s = [t[second] for t in latencies if second in t]
            p99 = (f"{sum(p99s) / len(p99s):g} {min(p99s):g} {max(p99s):g}" if p99s
                   else "? ? ?")
            f.write(f"{second} {mean('issued'):g} {mean('ok'):g} "
                    f"{mean('issued') - mean('ok'):g} {mean('a'):g} {mean('b'):g} {mean('c'):g} "
                    f"{min(oks)} {max(oks)} {p99}"
                    + "".join(f" {mean(n):g}" for n in extra_nodes) + "\n")


# ---- Prometheus export ----------------------------------------------------------------------

# The series the reference's analysis read (dfaas-reference.md §4.2-4.4: node CPU and RAM,
# invocation rate per function and code, AFET, replicas), as far as a lab node has them: no
# node-exporter or cAdvisor runs in the lab, so node CPU and RAM are what the agent takes from its
# Prometheus (dfaas_node_cpu_ratio, dfaas_node_memory_bytes) and the agent's own process figures.
# WINDOW is the rate window (4 scrape intervals, as the agents use).
PROMETHEUS_SERIES = [
    ("node_cpu_ratio", "dfaas_node_cpu_ratio"),
    ("node_memory_bytes", "dfaas_node_memory_bytes"),
    ("agent_cpu_cores", "rate(process_cpu_seconds_total{job=\"dfaas-agent\"}[WINDOW])"),
    ("agent_resident_memory_bytes", "process_resident_memory_bytes{job=\"dfaas-agent\"}"),
    ("invocation_rate",
     "sum by (function_name, code) (rate(gateway_function_invocation_total[WINDOW]))"),
    ("function_seconds_mean",
     "sum by (function_name) (rate(gateway_functions_seconds_sum[WINDOW])) / "
     "sum by (function_name) (rate(gateway_functions_seconds_count[WINDOW]))"),
    ("inflight_requests", "faas_sim_function_inflight_requests"),
    ("replicas", "gateway_service_count"),
    ("user_request_rate", "dfaas_user_request_rate_per_second"),
]
PROMETHEUS_ANSWER_MAX_BYTES = 8 << 20  # one query's answer; beyond it the export is refused
PROMETHEUS_SERIES_MAX = 200  # series in one node's file; the rest are dropped with a warning
PROMETHEUS_POINTS_MAX = 10000  # points per series: the step grows for a long run
PROMETHEUS_TIMEOUT_SECONDS = 5
PROMETHEUS_CSV_COLUMNS = ["timestamp", "series", "value"]


class PrometheusExportError(Exception):
    pass


def prometheus_url_is_loopback(url):
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def query_range(base_url, query, start, end, step):
    """The matrix of one /api/v1/query_range call; PrometheusExportError on any failure."""
    from urllib.error import URLError
    from urllib.parse import urlencode
    from urllib.request import urlopen
    url = f"{base_url.rstrip('/')}/api/v1/query_range?" + urlencode(
        {"query": query, "start": start, "end": end, "step": step})
    try:
        with urlopen(url, timeout=PROMETHEUS_TIMEOUT_SECONDS) as answer:
            body = answer.read(PROMETHEUS_ANSWER_MAX_BYTES + 1)
    except (URLError, OSError) as e:  # HTTPError is a URLError: 4xx/5xx land here too
        raise PrometheusExportError(f"{query!r}: {e}") from None
    if len(body) > PROMETHEUS_ANSWER_MAX_BYTES:
        raise PrometheusExportError(
            f"{query!r}: answer over {PROMETHEUS_ANSWER_MAX_BYTES} bytes (answer_too_large)")
    try:
        data = json.loads(body)
        if data.get("status") != "success" or data["data"]["resultType"] != "matrix":
            raise ValueError(f"status {data.get('status')!r}: {data.get('error', '')}")
        return data["data"]["result"]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise PrometheusExportError(f"{query!r}: not a query_range matrix ({e})") from None


def series_name(name, labels):
    shown = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{shown}}}" if shown else name


def export_prometheus(base_url, start, end, scrape_seconds, path):
    """PATH (timestamp, series, value) from the node's Prometheus over [start, end]. Returns the
    warnings; raises PrometheusExportError (and writes nothing) when a query fails."""
    if not prometheus_url_is_loopback(base_url):
        raise PrometheusExportError(
            f"{base_url}: only a Prometheus on loopback (run inside the lab node's namespace)")
    if not (end > start and scrape_seconds > 0):
        raise PrometheusExportError(f"empty window {start}-{end} or step {scrape_seconds}")
    step = max(scrape_seconds, math.ceil((end - start) / PROMETHEUS_POINTS_MAX))
    window = f"{4 * scrape_seconds}s"
    rows, warnings, kept, dropped = [], [], 0, 0
    for name, query in PROMETHEUS_SERIES:
        for series in query_range(base_url, query.replace("WINDOW", window), start, end, step):
            if kept >= PROMETHEUS_SERIES_MAX:
                dropped += 1
                continue
            kept += 1
            label = series_name(name, series.get("metric") or {})
            for point in series.get("values") or []:
                try:
                    timestamp, value = float(point[0]), point[1]
                    float(value)
                except (TypeError, ValueError, IndexError):
                    raise PrometheusExportError(f"{name}: bad point {point!r}") from None
                rows.append((timestamp, label, value))
    if dropped:
        warnings.append(f"{dropped} series over the cap of {PROMETHEUS_SERIES_MAX} dropped "
                        "(series_dropped)")
    rows.sort(key=lambda r: (r[0], r[1]))
    temporary = f"{path}.tmp"
    with open(temporary, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PROMETHEUS_CSV_COLUMNS)
        writer.writerows((f"{t:.3f}", label, value) for t, label, value in rows)
    os.replace(temporary, path)
    return warnings


def prometheus_command(base_url, start, end, scrape_seconds, path):
    """Exit 0 with the file, or 3 with a warning and no file: the run goes on either way."""
    try:
        for warning in export_prometheus(base_url, int(start), int(end), int(scrape_seconds),
                                         path):
            print(f"experiments: warning: {path}: {warning}", file=sys.stderr)
    except (PrometheusExportError, ValueError, OSError) as e:
        print(f"experiments: warning: no {os.path.basename(path)}: Prometheus export failed: {e}",
              file=sys.stderr)
        for leftover in (path, f"{path}.tmp"):
            if os.path.exists(leftover):
                os.remove(leftover)
        sys.exit(3)


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    command = argv[1]
    if command == "functions" and len(argv) in (5, 6):
        write_functions(argv[2], float(argv[3]), argv[4], *argv[5:])
    elif command == "streams" and len(argv) == 5:
        print_streams(argv[2], float(argv[3]), float(argv[4]))
    elif command == "plan" and len(argv) == 9:
        for name in argv[2].split(","):
            scenario(name)
        print_plan(argv[2], argv[3], float(argv[4]), float(argv[5]), argv[6], argv[7],
                   int(argv[8]))
    elif command == "faults" and len(argv) == 4:
        for node, stop_s, start_s in faults(argv[2], float(argv[3])):
            print(node, stop_s, start_s)
    elif command == "csv" and len(argv) in (3, 4):
        write_csv(argv[2], nodes=nodes_of(argv[3]) if len(argv) == 4 else "abc")
    elif command == "nodes" and len(argv) == 3:
        print(" ".join(nodes_of(argv[2])))
    elif command == "prometheus" and len(argv) == 7:
        prometheus_command(*argv[2:])
    elif command == "report" and len(argv) == 3:
        report(argv[2])
    elif command == "list":
        print(" ".join(SCENARIOS))
    else:
        die(__doc__)


if __name__ == "__main__":
    main(sys.argv)
