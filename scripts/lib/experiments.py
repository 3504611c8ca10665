#!/usr/bin/env python3
"""The reference's experiments T1-T3, scaled to this machine (used by scripts/experiment.sh).

  experiments.py functions SCENARIO SCALE DIR      writes DIR/{light,mid,heavy}.yaml
  experiments.py streams SCENARIO SCALE TIMESCALE  prints "NODE FUNCTION PORT STAGES" lines
  experiments.py report OUT                         tables (stdout, OUT/results.md), OUT/results.json,
                                                    gnuplot data OUT/<scenario>-<strategy>.dat

Scaling: rates and maxrates are multiplied by SCALE, durations by TIMESCALE. The simulator's
capacity of a function is about 10 % above its maxrate (the agent's belief), as in the lab's
example files: max_inflight = ceil(maxrate x 1.1 x 40.2 ms).
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
        "title": "T1: 250 req/s of figlet on Light for 5 min",
        "maxrates": {"figlet": {"light": 200, "mid": 450, "heavy": 700}},
        # (node, function, [(from_min, to_min, rate)])
        "streams": [("a", "figlet", [(0, 5, 250)])],
        "phases": [(0, 5)],
        "published": {"nodemargin": "97.63 % (p99 1.541 s)", "recalc": "95.58 % (p99 679 ms)"},
    },
    "t2": {
        "title": "T2: figlet and shasum on Mid, figlet 100 then 300 req/s, shasum 50 req/s, 10 min",
        "maxrates": {"figlet": {"light": 100, "mid": 225, "heavy": 350},
                     "shasum": {"light": 100, "mid": 225, "heavy": 350}},
        "streams": [("b", "figlet", [(0, 5, 100), (5, 10, 300)]),
                    ("b", "shasum", [(0, 10, 50)])],
        "phases": [(0, 5), (5, 10)],
        "published": {"nodemargin": "99.54 %", "recalc": "95.11 %"},
    },
    "t3": {
        "title": "T3: figlet on all three nodes, 15 min in three phases",
        "maxrates": {"figlet": {"light": 200, "mid": 450, "heavy": 700}},
        "streams": [("a", "figlet", [(0, 15, 350)]),
                    ("b", "figlet", [(0, 5, 0), (5, 10, 100), (10, 15, 600)]),
                    ("c", "figlet", [(0, 5, 0), (5, 15, 100)])],
        "phases": [(0, 5), (5, 10), (10, 15)],
        "published": {"nodemargin": "93.82 %", "recalc": "95.44 %"},
    },
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


def max_inflight(maxrate):
    return max(1, math.ceil(maxrate * 1.1 * SERVICE_MS / 1000.0))


def write_functions(name, scale, directory):
    """Every node runs figlet, shasum and env; the scenario's maxrates, the rest at 100/225/350."""
    maxrates = scenario(name)["maxrates"]
    default = {"light": 100, "mid": 225, "heavy": 350}
    os.makedirs(directory, exist_ok=True)
    for node_type in ("light", "mid", "heavy"):
        lines = [f"# {name} scaled by {scale}: written by scripts/lib/experiments.py", "functions:"]
        for function, port in PORTS.items():
            maxrate = max(1, round(maxrates.get(function, default)[node_type] * scale))
            lines += [
                f"  - name: {function}",
                f"    image: ghcr.io/openfaas/{function}:latest",
                f"    behaviour: {function}",
                "    sleep_ms: 40",
                "    cpu_ms: 0.2",
                "    replicas: 1",
                f"    max_inflight: {max_inflight(maxrate)}",
                "    labels:",
                f"      dfaas.maxrate: \"{maxrate}\"",
                "      dfaas.group: LOW_USAGE",
                f"      dfaas.port: \"{port}\"",
            ]
        with open(os.path.join(directory, f"{node_type}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")


def seconds(minutes, timescale):
    return round(minutes * 60 * timescale)


def print_streams(name, scale, timescale):
    for node, function, stages in scenario(name)["streams"]:
        text = ",".join(f"{seconds(a, timescale)}-{seconds(b, timescale)}s:{rate * scale:g}"
                        for a, b, rate in stages)
        print(node, function, PORTS[function], text)


# ---- report -------------------------------------------------------------------------------

def load_run(run_dir):
    """The streams of one (scenario, strategy) run: reports and per-second timelines."""
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


def per_second(streams):
    """Seconds -> summed counters over every stream."""
    total = {}
    for _, _, rows in streams:
        for row in rows:
            second = int(row["second"])
            slot = total.setdefault(second, {"issued": 0, "ok": 0, "a": 0, "b": 0, "c": 0})
            slot["issued"] += int(row["issued"] or 0)
            slot["ok"] += int(row.get("http_200") or 0)
            for node in "abc":
                slot[node] += int(row.get(f"served_by_node-{node}") or 0)
    return total


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
    seconds_table = per_second(streams)
    phases = []
    for a, b in info["phases"]:
        lo, hi = seconds(a, timescale), seconds(b, timescale)
        issued = sum(v["issued"] for s, v in seconds_table.items() if lo <= s < hi)
        good = sum(v["ok"] for s, v in seconds_table.items() if lo <= s < hi)
        phases.append(good / issued if issued else None)
    p99 = max((r["latencies"]["99th"] for _, r, _ in streams if r["requests"]), default=0)
    p50 = max((r["latencies"]["50th"] for _, r, _ in streams if r["requests"]), default=0)
    return {
        "requests": requests,
        "http_200": ok,
        "success": ok / requests if requests else 0.0,
        "phases": phases,
        "p50_ms": p50 / 1e6,
        "p99_ms": p99 / 1e6,
        "status_codes": codes,
        "errors": errors,
        "served_by": served,
    }


def percent(x):
    return "-" if x is None else f"{100 * x:.2f} %"


def table(rows, header):
    width = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(width[i]) for i, h in enumerate(header)) + " |",
             "|" + "|".join("-" * (w + 2) for w in width) + "|"]
    lines += ["| " + " | ".join(c.ljust(width[i]) for i, c in enumerate(r)) + " |" for r in rows]
    return "\n".join(lines)


def report(out):
    meta = json.load(open(os.path.join(out, "experiment.json")))
    timescale = meta["timescale"]
    results = {}
    text = [f"Scale {meta['scale']} (rates and maxrates), durations x {timescale}, agent period "
            f"{meta['period']}, Prometheus scrape {meta['scrape']}.", ""]
    for name in meta["scenarios"]:
        info = scenario(name)
        rows = []
        results[name] = {}
        for strategy in meta["strategies"]:
            run_dir = os.path.join(out, name, strategy)
            if not os.path.isdir(run_dir):
                continue
            streams = load_run(run_dir)
            if not streams:
                continue
            s = summarize(name, streams, timescale)
            results[name][strategy] = s
            write_plot_data(out, name, strategy, streams)
            rejected = s["status_codes"].get("429", 0) + s["errors"].get("refused", 0)
            rows.append([
                STRATEGY_NAMES.get(strategy, strategy), str(s["requests"]), percent(s["success"]),
                " / ".join(percent(p) for p in s["phases"]),
                f"{s['p50_ms']:.1f} ms", f"{s['p99_ms']:.1f} ms",
                " / ".join(str(s["served_by"].get(f"node-{n}", 0)) for n in "abc"),
                str(rejected), str(s["errors"].get("timeout", 0)),
                info["published"].get(PUBLISHED_AS.get(strategy, strategy), "-"),
            ])
        text += [f"### {info['title']}", "", table(rows, [
            "strategy", "requests", "HTTP 200", "per phase", "p50", "p99 (worst stream)",
            "served by a / b / c", "rejected (429 + reset)", "timeouts", "reference (published)"]),
            ""]
    json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=2)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(text))
    print("\n".join(text))


def write_plot_data(out, name, strategy, streams):
    seconds_table = per_second(streams)
    with open(os.path.join(out, f"{name}-{strategy}.dat"), "w") as f:
        f.write("# second offered http_200 failed served_a served_b served_c\n")
        for second in sorted(seconds_table):
            v = seconds_table[second]
            f.write(f"{second} {v['issued']} {v['ok']} {v['issued'] - v['ok']} "
                    f"{v['a']} {v['b']} {v['c']}\n")


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    command = argv[1]
    if command == "functions" and len(argv) == 5:
        write_functions(argv[2], float(argv[3]), argv[4])
    elif command == "streams" and len(argv) == 5:
        print_streams(argv[2], float(argv[3]), float(argv[4]))
    elif command == "report" and len(argv) == 3:
        report(argv[2])
    elif command == "list":
        print(" ".join(SCENARIOS))
    else:
        die(__doc__)


if __name__ == "__main__":
    main(sys.argv)
