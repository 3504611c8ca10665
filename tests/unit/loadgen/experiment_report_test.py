#!/usr/bin/env python3
"""scripts/experiment.sh without a lab: the plan it prints (durations and period of the default
profile and of --full, --repeat), and the report of a run made of synthetic loadgen outputs (mean
and min-max over repetitions, the per-second CSV of each run, the older one-run layout).

  experiment_report_test.py REPO_ROOT
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ROOT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../..")
EXPERIMENT = os.path.join(ROOT, "scripts/experiment.sh")
HELPER = os.path.join(ROOT, "scripts/lib/experiments.py")

TIMELINE_HEADER = ("second,issued,completed,errors,success,http_200,p50_ms,p99_ms,lag_max_ms,"
                   "code_200,code_429,error_refused,error_timeout,served_by_node-a,served_by_node-b,"
                   "p50_ms_node-a,p99_ms_node-a,p50_ms_node-b,p99_ms_node-b")


def read(path):
    with open(path) as f:
        return f.read()


def plan(*args):
    return subprocess.run([EXPERIMENT, "--print-plan", "--strategies", "recalc", *args],
                          capture_output=True, text=True, check=False)


def write_run(directory, seconds, latencies_ms, p99_per_second=None):
    """One stream a-figlet: rows of (issued, ok, 429, refused, timeout, served a, served b);
    p99_per_second gives the timeline's p99_ms per second ("" = no response), else 41.0."""
    os.makedirs(directory, exist_ok=True)
    lines = [TIMELINE_HEADER]
    p99s = p99_per_second or ["41.0"] * len(seconds)
    for i, (issued, ok, rejected, refused, timeouts, on_a, on_b) in enumerate(seconds):
        completed = ok + rejected
        lines.append(f"{i},{issued},{completed},{refused + timeouts},{ok},{ok},40.5,{p99s[i]},0.1,"
                     f"{ok},{rejected},{refused},{timeouts},{on_a},{on_b},40.2,40.9,55.0,60.5")
    with open(os.path.join(directory, "timeline-a-figlet.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = [sum(column) for column in zip(*seconds)]
    report = {
        "requests": total[0],
        "status_codes": {"200": total[1], "429": total[2], "0": total[3] + total[4]},
        "error_kinds": {"refused": total[3], "timeout": total[4]},
        "served_by": {"node-a": total[5], "node-b": total[6]},
        "latencies": {"50th": int(latencies_ms[0] * 1e6), "99th": int(latencies_ms[1] * 1e6)},
    }
    with open(os.path.join(directory, "report-a-figlet.json"), "w") as f:
        json.dump(report, f)


class Plan(unittest.TestCase):
    def test_default_profile_says_what_it_runs(self):
        run = plan("--scenarios", "t1,t3")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("repetitions: 3 per (scenario, strategy)", run.stdout)
        self.assertIn("agent period: 5s", run.stdout)
        self.assertIn("T1: 250 req/s of figlet on Light for 1 min (published: 5 min)", run.stdout)
        self.assertIn("stream a figlet: --stages 0-60s:250\n", run.stdout)
        self.assertIn("stream b figlet: --stages 0-60s:0,60-120s:100,120-180s:600", run.stdout)
        self.assertIn("runs: 6;", run.stdout)

    def test_full_runs_the_published_durations_with_a_one_minute_period(self):
        run = plan("--full", "--repeat", "1", "--scenarios", "t1,t2,t3")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("agent period: 1m", run.stdout)
        self.assertIn("durations x 1\n", run.stdout)
        self.assertIn("T1: 250 req/s of figlet on Light for 5 min\n", run.stdout)
        self.assertIn("T3: figlet on all three nodes, 15 min in three phases", run.stdout)
        self.assertIn("stream a figlet: --stages 0-300s:250\n", run.stdout)
        self.assertIn("stream b figlet: --stages 0-300s:100,300-600s:300", run.stdout)
        self.assertIn("repetitions: 1 per", run.stdout)
        self.assertNotIn("published:", run.stdout)

    def test_bad_values_are_refused(self):
        for args, message in [(["--repeat", "0"], "--repeat '0'"), (["--repeat", "x"], "--repeat"),
                              (["--period", "5"], "--period '5'"),
                              (["--scenarios", "t9"], "unknown scenario")]:
            run = plan(*args)
            self.assertEqual(run.returncode, 2, args)
            self.assertIn(message, run.stderr)


class Report(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory(prefix="experiment-report-")
        self.out = self.scratch.name
        with open(os.path.join(self.out, "experiment.json"), "w") as f:
            json.dump({"scenarios": ["t1"], "strategies": ["recalc", "static"], "scale": 1.0,
                       "timescale": 0.2, "period": "5s", "scrape": "5s", "repeat": 2}, f)
        cell = os.path.join(self.out, "t1", "recalc")
        write_run(os.path.join(cell, "rep-1"), [(50, 45, 3, 2, 0, 40, 8), (50, 45, 3, 2, 0, 44, 4)],
                  (40.0, 10.0))
        write_run(os.path.join(cell, "rep-2"), [(50, 49, 1, 0, 0, 45, 5), (50, 49, 1, 0, 0, 45, 5)],
                  (40.0, 20.0))
        # The layout before repetitions: the run's files in the cell directory itself.
        write_run(os.path.join(self.out, "t1", "static"), [(100, 100, 0, 0, 0, 60, 40)],
                  (40.0, 12.0))
        self.report = subprocess.run([sys.executable, HELPER, "report", self.out],
                                     capture_output=True, text=True, check=False)
        self.assertEqual(self.report.returncode, 0, self.report.stderr)

    def tearDown(self):
        self.scratch.cleanup()

    def row(self, strategy):
        lines = [line for line in read(os.path.join(self.out, "results.md")).splitlines()
                 if line.startswith(f"| {strategy} ")]
        self.assertEqual(len(lines), 1)
        return [cell.strip() for cell in lines[0].strip().strip("|").split("|")]

    def test_cells_give_mean_and_min_max_over_repetitions(self):
        text = read(os.path.join(self.out, "results.md"))
        self.assertIn("### T1: 250 req/s of figlet on Light for 1 min (published: 5 min)", text)
        self.assertIn("2 repetitions per cell", text)
        recalc = self.row("Recalc, standby overflow")
        # runs, requests, HTTP 200 (90 % and 98 %), p99 (10 and 20 ms), rejected (10 and 2).
        self.assertEqual(recalc[1], "2")
        self.assertEqual(recalc[2], "100")
        self.assertEqual(recalc[3], "94.00 % (90.00–98.00)")
        self.assertEqual(recalc[6], "15.0 ms (10.0–20.0)")
        self.assertEqual(recalc[7], "87 / 11 / 0")
        self.assertEqual(recalc[8], "6 (2–10)")
        self.assertEqual(recalc[10], "95.58 % (p99 679 ms)")
        static = self.row("Static")
        self.assertEqual(static[1:4], ["1", "100", "100.00 %"])
        results = json.loads(read(os.path.join(self.out, "results.json")))
        self.assertEqual(len(results["t1"]["recalc"]["repetitions"]), 2)
        success = results["t1"]["recalc"]["success"]
        self.assertAlmostEqual(success["mean"], 0.94)
        self.assertEqual((success["min"], success["max"]), (0.9, 0.98))

    def test_every_run_gets_a_per_second_csv(self):
        path = os.path.join(self.out, "t1", "recalc", "rep-1", "per-second.csv")
        with open(path) as f:
            header = f.readline().strip()
            rows = list(csv.DictReader(f, fieldnames=header.split(",")))
        self.assertEqual(header, "second,node,function,offered,http_200,success_ratio,"
                                 "rejected_429,refused,reset,timeouts,other_failures,p50_ms,"
                                 "p99_ms,served_by_a,served_by_b,served_by_c,p50_ms_a,p99_ms_a,"
                                 "p50_ms_b,p99_ms_b,p50_ms_c,p99_ms_c")
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1], {
            "second": "1", "node": "a", "function": "figlet", "offered": "50", "http_200": "45",
            "success_ratio": "0.9000", "rejected_429": "3", "refused": "2", "reset": "0",
            "timeouts": "0", "other_failures": "0", "p50_ms": "40.5", "p99_ms": "41.0",
            "served_by_a": "44", "served_by_b": "4", "served_by_c": "0", "p50_ms_a": "40.2",
            "p99_ms_a": "40.9", "p50_ms_b": "55.0", "p99_ms_b": "60.5", "p50_ms_c": "",
            "p99_ms_c": ""})
        self.assertTrue(os.path.exists(os.path.join(self.out, "t1", "static", "per-second.csv")))
        # The plot data: the mean per second, then the min and max of HTTP 200, then p99.
        data = read(os.path.join(self.out, "t1-recalc.dat")).splitlines()
        self.assertEqual(data[1].split(), ["0", "50", "47", "3", "42.5", "6.5", "0", "45", "49",
                                           "41", "41", "41"])


class Plots(unittest.TestCase):
    """experiment.sh --report on a synthetic 2-repetition run: the PNG per scenario, and the plot
    data and gnuplot script hold the min-max bands of HTTP 200 and p99 per second."""

    @classmethod
    def setUpClass(cls):  # one report for every test: gnuplot takes most of a second
        self = cls
        self.scratch = tempfile.TemporaryDirectory(prefix="experiment-plots-")
        self.out = self.scratch.name
        with open(os.path.join(self.out, "experiment.json"), "w") as f:
            json.dump({"scenarios": ["t1"], "strategies": ["recalc", "static"], "scale": 1.0,
                       "timescale": 0.2, "period": "5s", "scrape": "5s", "repeat": 2}, f)
        cell = os.path.join(self.out, "t1", "recalc")
        # p99 of second 0: 41 and 80 ms; second 1: 300 ms in rep-1, no response in rep-2.
        write_run(os.path.join(cell, "rep-1"), [(50, 45, 3, 2, 0, 40, 8), (50, 30, 3, 17, 0, 30, 3)],
                  (40.0, 10.0), ["41.0", "300.0"])
        write_run(os.path.join(cell, "rep-2"), [(50, 49, 1, 0, 0, 45, 5), (50, 0, 0, 50, 0, 0, 0)],
                  (40.0, 20.0), ["80.0", ""])
        static = os.path.join(self.out, "t1", "static")
        for rep in ("rep-1", "rep-2"):
            write_run(os.path.join(static, rep), [(50, 50, 0, 0, 0, 50, 0)] * 2, (40.0, 12.0))
        self.run_report = subprocess.run([EXPERIMENT, "--report", self.out], capture_output=True,
                                         text=True, check=False)

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def test_report_succeeds(self):
        self.assertEqual(self.run_report.returncode, 0, self.run_report.stderr)

    def test_png_is_written(self):
        with open(os.path.join(self.out, "t1.png"), "rb") as f:
            head = f.read(8)
        self.assertEqual(head, b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(os.path.join(self.out, "t1.png")), 10000)
        self.assertNotIn("gnuplot failed", self.run_report.stderr)

    def test_plot_data_holds_the_bands(self):
        rows = [line.split() for line in read(os.path.join(self.out, "t1-recalc.dat")).splitlines()
                if not line.startswith("#")]
        self.assertEqual(len(rows), 2)
        # second, offered, http_200 mean, failed, served a/b/c, http_200 min/max, p99 mean/min/max
        self.assertEqual(rows[0], ["0", "50", "47", "3", "42.5", "6.5", "0", "45", "49",
                                   "60.5", "41", "80"])
        # A repetition without responses in a second leaves the p99 band to the others.
        self.assertEqual(rows[1][1:3] + rows[1][7:], ["50", "15", "0", "30", "300", "300", "300"])

    def test_every_strategy_is_drawn_with_both_bands(self):
        script = read(os.path.join(self.out, "t1.gp"))
        for strategy in ("recalc", "static"):
            data = os.path.join(self.out, f"t1-{strategy}.dat")
            self.assertIn(f'"{data}" using 1:8:9 with filledcurves', script)
            self.assertIn(f'"{data}" using 1:11:12 with filledcurves', script)
            self.assertIn(f'"{data}" using 1:10 with lines', script)
        self.assertIn("p99 latency per second", script)
        self.assertIn(f'set output "{os.path.join(self.out, "t1.png")}"', script)


def helper(*args):
    return subprocess.run([sys.executable, HELPER, *args], capture_output=True, text=True,
                          check=True).stdout


def functions_files(scale=1):
    """T5's functions files: node -> (cpus, cost_ms, [(function, port, queue)])."""
    with tempfile.TemporaryDirectory(prefix="experiment-t5-") as directory:
        helper("functions", "t5", str(scale), directory)
        nodes = {}
        for entry in sorted(os.listdir(directory)):
            cpus, cost, functions = None, None, []
            for line in read(os.path.join(directory, entry)).splitlines():
                line = line.strip()
                if line.startswith("node: {cpus: "):
                    cpus = int(line.split("cpus: ")[1].split(",")[0])
                elif line.startswith("- name: "):
                    functions.append([line[len("- name: "):], None, None])
                elif line.startswith("cost_ms: "):
                    cost = float(line.split()[1])
                elif line.startswith("queue: "):
                    functions[-1][2] = int(line.split()[1])
                elif line.startswith("dfaas.port: "):
                    functions[-1][1] = int(line.split('"')[1])
            nodes[entry[:-len(".yaml")]] = (cpus, cost, [tuple(f) for f in functions])
        return nodes


class T5Plan(unittest.TestCase):
    """T5 without a lab: 6 nodes of the lab's types in turn, 12 functions on 3 nodes each, one
    stream per function at its home node, and each node surging exactly once, one at a time, with
    an overflow its peers running the surging functions can take (by the node model)."""

    @classmethod
    def setUpClass(cls):
        cls.nodes = functions_files()
        cls.streams = [line.split() for line in helper("streams", "t5", "1", "0.2").splitlines()]

    def stages(self, text):
        """"0-30s:175,..." -> [(0, 30, 175.0), ...]"""
        out = []
        for stage in text.split(","):
            span, rate = stage.split(":")
            a, b = span.rstrip("s").split("-")
            out.append((int(a), int(b), float(rate)))
        return out

    def test_six_nodes_of_the_lab_types_with_their_own_functions(self):
        self.assertEqual(helper("nodes", "t5").split(), ["a", "b", "c", "d", "e", "f"])
        self.assertEqual(helper("nodes", "t3").split(), ["a", "b", "c"])
        self.assertEqual({n: v[0] for n, v in self.nodes.items()},
                         {"a": 2, "b": 4, "c": 6, "d": 2, "e": 4, "f": 6})
        hosts = {}
        for node, (cpus, _, functions) in self.nodes.items():
            self.assertEqual(len(functions), 6, node)
            # Every waiting request holds a simulator thread: cpus + queues + 16 within 256.
            self.assertLessEqual(cpus + sum(q for _, _, q in functions) + 16, 256, node)
            for function, _, _ in functions:
                hosts.setdefault(function, set()).add(node)
        self.assertEqual(len(hosts), 12)
        for function, on in hosts.items():
            self.assertGreaterEqual(len(on), 2, function)  # offloading possible
        # One port per function, the same on every node running it.
        ports = {(f, p) for _, (_, _, fs) in self.nodes.items() for f, p, _ in fs}
        self.assertEqual(sorted(p for _, p in ports), list(range(31011, 31023)))

    def test_each_node_surges_exactly_once_one_at_a_time(self):
        self.assertEqual(len(self.streams), 12)
        self.assertEqual(len({f for _, f, _, _ in self.streams}), 12)  # one entry per function
        surge_phase = {}
        for node, function, port, text in self.streams:
            self.assertIn((function, int(port)),
                          {(f, p) for f, p, _ in self.nodes[node][2]}, "runs where it enters")
            stages = self.stages(text)
            self.assertEqual([(a, b) for a, b, _ in stages],
                             [(30 * i, 30 * (i + 1)) for i in range(6)])
            base = min(r for _, _, r in stages)
            high = [i for i, (_, _, r) in enumerate(stages) if r > base]
            self.assertEqual(len(high), 1, (node, function))
            self.assertEqual(surge_phase.setdefault(node, high[0]), high[0], node)
        self.assertEqual(surge_phase, {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 5})
        plan = helper("plan", "t5", "recalc", "1", "0.2", "5s", "5s", "1")
        for i, node in enumerate("abcdef"):
            self.assertIn(f"phase {i + 1} ({30 * i}-{30 * (i + 1)} s): node {node} surges", plan)

    def test_the_federation_can_take_every_surge(self):
        capacity = {n: cpus * 1000 / cost for n, (cpus, cost, _) in self.nodes.items()}
        hosts = {}
        for node, (_, _, functions) in self.nodes.items():
            for function, _, _ in functions:
                hosts.setdefault(function, set()).add(node)
        for phase in range(6):
            load = {n: 0.0 for n in self.nodes}
            entering = {}
            for node, function, _, text in self.streams:
                rate = self.stages(text)[phase][2]
                load[node] += rate
                entering.setdefault(node, []).append((function, rate))
            over = [n for n in load if load[n] > capacity[n]]
            self.assertEqual(over, ["abcdef"[phase]], phase)  # only the surging node
            surging = over[0]
            room = {n: capacity[n] - load[n] for n in load if n != surging}
            # Each surging function's share of the overflow fits on its other hosts.
            excess = load[surging] - capacity[surging]
            for function, rate in entering[surging]:
                share = excess * rate / load[surging]
                self.assertLessEqual(share, sum(room[h] for h in hosts[function] - {surging}),
                                     (phase, function))

    def test_the_report_follows_the_six_nodes(self):
        with tempfile.TemporaryDirectory(prefix="experiment-t5-report-") as out:
            with open(os.path.join(out, "experiment.json"), "w") as f:
                json.dump({"scenarios": ["t5"], "strategies": ["recalc"], "scale": 1.0,
                           "timescale": 0.2, "period": "5s", "scrape": "5s", "repeat": 1}, f)
            run = os.path.join(out, "t5", "recalc", "rep-1")
            os.makedirs(run)
            header = ("second,issued,http_200,p50_ms,p99_ms,code_429,served_by_node-a,"
                      "served_by_node-d,p99_ms_node-d")
            # a-figlet-1 surges in second 0 (phase 1) and loses 10; c-shasum-2 loses nothing.
            streams = [("a-figlet-1", ["0,100,90,9,20,10,50,40,30", "30,40,40,9,20,0,40,0,"],
                        {"node-a": 90, "node-d": 40}),
                       ("c-shasum-2", ["0,60,60,9,12,0,0,0,", "30,60,60,9,12,0,0,0,"],
                        {"node-c": 120})]
            for key, rows, served in streams:
                with open(os.path.join(run, f"timeline-{key}.csv"), "w") as f:
                    f.write("\n".join([header] + rows) + "\n")
                issued = sum(int(r.split(",")[1]) for r in rows)
                ok = sum(int(r.split(",")[2]) for r in rows)
                with open(os.path.join(run, f"report-{key}.json"), "w") as f:
                    json.dump({"requests": issued, "status_codes": {"200": ok, "429": issued - ok},
                               "error_kinds": {}, "served_by": served,
                               "latencies": {"50th": 9000000, "99th": 20000000}}, f)
            helper("report", out)
            text = read(os.path.join(out, "results.md"))
            self.assertIn("per phase (surge on a / b / c / d / e / f)", text)
            self.assertIn("served by a / b / c / d / e / f", text)
            self.assertIn("| 90 / 0 / 120 / 40 / 0 / 0 ", text)
            # Phase 1: a's stream 90 of 100, the others 60 of 60; phase 2: b has no stream here.
            self.assertIn("93.75 % / 100.00 % / - / - / - / -", text)
            surge_row = [line for line in text.splitlines()
                         if line.startswith("| Recalc") and "surge on" not in line][-1]
            self.assertEqual([c.strip() for c in surge_row.strip("| ").split("|")][1:4],
                             ["90.00 % / 100.00 %", "- / 100.00 %", "- / -"])
            header_line = read(os.path.join(run, "per-second.csv")).splitlines()[0].split(",")
            self.assertEqual(header_line[13:19], [f"served_by_{n}" for n in "abcdef"])
            self.assertEqual(header_line[-2:], ["p50_ms_f", "p99_ms_f"])
            rows = [line.split() for line in read(os.path.join(out, "t5-recalc.dat")).splitlines()]
            self.assertIn("served_d served_e served_f", " ".join(rows[0]))
            # second 0: offered 160, ok 150, failed 10, served a/b/c 50/0/0, ..., served d/e/f
            self.assertEqual(rows[1][:9], ["0", "160", "150", "10", "50", "0", "0", "150", "150"])
            self.assertEqual(rows[1][12:], ["40", "0", "0"])


class StubPrometheus(BaseHTTPRequestHandler):
    """/api/v1/query_range on 127.0.0.1: `answer(query, params)` of the server gives (status,
    body bytes); every query is recorded."""

    def do_GET(self):
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.queries.append((parts.path, params))
        status, body = self.server.answer(params.get("query", ""), params)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def matrix(series):
    """series: [(labels, [(t, value), ...])] -> a query_range answer."""
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, str(v)] for t, v in values]}
        for labels, values in series]}}).encode()


class PrometheusExport(unittest.TestCase):
    """experiments.py prometheus against a stub Prometheus on loopback: the CSV, the caps, and a
    failing Prometheus leaving a warning and no file."""

    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory(prefix="experiment-prometheus-")
        self.path = os.path.join(self.scratch.name, "prometheus-a.csv")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), StubPrometheus)
        self.server.queries = []
        self.server.answer = self.answer
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        self.scratch.cleanup()

    def answer(self, query, params):
        if query.startswith("sum by (function_name, code)"):
            return 200, matrix([({"code": "200", "function_name": "figlet"},
                                 [(1000, 249.5), (1005, 250)]),
                                ({"code": "429", "function_name": "figlet"}, [(1005, 0.4)])])
        if query == "dfaas_node_cpu_ratio":
            return 200, matrix([({"__name__": "dfaas_node_cpu_ratio", "job": "dfaas-agent",
                                  "instance": "127.0.0.1:9080"}, [(1000, 0.25)])])
        return 200, matrix([])

    def export(self, url=None, start="1000", end="1010"):
        return subprocess.run([sys.executable, HELPER, "prometheus", url or self.url, start, end,
                               "5", self.path], capture_output=True, text=True, check=False)

    def test_series_become_timestamp_series_value_rows(self):
        run = self.export()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(read(self.path).splitlines(), [
            "timestamp,series,value",
            '1000.000,"invocation_rate{code=""200"",function_name=""figlet""}",249.5',
            '1000.000,"node_cpu_ratio{instance=""127.0.0.1:9080"",job=""dfaas-agent""}",0.25',
            '1005.000,"invocation_rate{code=""200"",function_name=""figlet""}",250',
            '1005.000,"invocation_rate{code=""429"",function_name=""figlet""}",0.4'])
        paths = {path for path, _ in self.server.queries}
        self.assertEqual(paths, {"/api/v1/query_range"})
        params = self.server.queries[0][1]
        self.assertEqual((params["start"], params["end"], params["step"]), ("1000", "1010", "5"))
        queries = [p["query"] for _, p in self.server.queries]
        # The reference's series: node CPU and RAM, invocation rate, AFET; rates over 4 scrapes.
        for expected in ("dfaas_node_cpu_ratio", "dfaas_node_memory_bytes",
                         "sum by (function_name, code) (rate(gateway_function_invocation_total[20s]))"):
            self.assertIn(expected, queries)
        self.assertTrue(any("gateway_functions_seconds_sum[20s]" in q for q in queries))

    def test_a_long_run_gets_a_coarser_step(self):
        run = self.export(start="0", end="100000")  # 20000 points at 5 s: over the cap of 10000
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(self.server.queries[0][1]["step"], "10")

    def test_series_over_the_cap_are_dropped_with_a_warning(self):
        self.server.answer = lambda query, params: (200, matrix(
            [({"function_name": f"f{i}"}, [(1000, i)]) for i in range(201)])
            if query == "dfaas_node_cpu_ratio" else matrix([]))
        run = self.export()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("1 series over the cap of 200 dropped (series_dropped)", run.stderr)
        rows = read(self.path).splitlines()[1:]
        self.assertEqual(len(rows), 200)
        self.assertNotIn('f200', read(self.path))

    def test_a_failing_prometheus_leaves_a_warning_and_no_file(self):
        for status, body, message in [
                (500, b"oops", "HTTP Error 500"),
                (200, b"{not json", "not a query_range matrix"),
                (200, json.dumps({"status": "error", "error": "bad query"}).encode(), "bad query"),
                (200, b" " * (8 << 20) + b"{}", "answer_too_large")]:
            self.server.answer = lambda query, params, s=status, b=body: (s, b)
            run = self.export()
            self.assertEqual(run.returncode, 3, message)
            self.assertIn("warning: no prometheus-a.csv: Prometheus export failed", run.stderr)
            self.assertIn(message, run.stderr)
            self.assertFalse(os.path.exists(self.path), message)
            self.assertFalse(os.path.exists(self.path + ".tmp"), message)

    def test_no_prometheus_at_all(self):
        run = self.export(url="http://127.0.0.1:9")  # discard port: nothing listens
        self.assertEqual(run.returncode, 3)
        self.assertIn("Prometheus export failed", run.stderr)
        self.assertFalse(os.path.exists(self.path))

    def test_only_loopback(self):
        run = self.export(url="http://10.77.0.1:9090")
        self.assertEqual(run.returncode, 3)
        self.assertIn("only a Prometheus on loopback", run.stderr)
        self.assertEqual(self.server.queries, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
