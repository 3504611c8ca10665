#!/usr/bin/env python3
"""The functions files scripts/lib/experiments.py writes for the lab: the node model of each node
type (the reference's CPUs, the calibrated cost, the published maxrates as labels), accepted by
dfaas-faas-sim itself; the old maxrate model on request; bad models and scales refused.

Usage: experiment_functions_test.py SOURCE_DIR FAAS_SIM_BINARY
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE, BINARY = sys.argv[1], sys.argv[2]
SCRIPT = os.path.join(SOURCE, "scripts", "lib", "experiments.py")
spec = importlib.util.spec_from_file_location("experiments", SCRIPT)
experiments = importlib.util.module_from_spec(spec)
spec.loader.exec_module(experiments)


def write(scenario, scale, *model):
    directory = tempfile.mkdtemp(prefix="faas-sim-experiment-")
    subprocess.run([sys.executable, SCRIPT, "functions", scenario, str(scale), directory, *model],
                   check=True)
    return directory


def check_config(path):
    """What dfaas-faas-sim --check-config prints for the file (it fails the test if refused)."""
    done = subprocess.run([BINARY, "--functions", path, "--check-config"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise AssertionError(f"{path} refused: {done.stderr}")
    return done.stdout


class NodeModelFiles(unittest.TestCase):
    def test_calibration_reproduces_the_published_node_rates(self):
        # cpus x 1000 / cost_ms against light 200, mid 450, heavy 700: light 225 (+12.5 %),
        # mid 450, heavy 675 (-3.6 %), and the three together exactly.
        capacity = {t: experiments.NODE_CPUS[t] * 1000 / experiments.COST_MS
                    for t in experiments.NODE_CPUS}
        for node_type, rate in experiments.PUBLISHED_NODE_RATES.items():
            self.assertLessEqual(abs(capacity[node_type] - rate) / rate, 0.125 + 1e-9, node_type)
        self.assertAlmostEqual(sum(capacity.values()), 1350, places=6)
        self.assertAlmostEqual(experiments.COST_MS, 8.8889, places=4)

    def test_every_node_type_gets_its_cpus_and_the_published_maxrates(self):
        directory = write("t1", 1)
        for node_type, cpus, maxrate in (("light", 2, 200), ("mid", 4, 450), ("heavy", 6, 700)):
            printed = check_config(os.path.join(directory, f"{node_type}.yaml"))
            self.assertIn(f"node model: {cpus} virtual CPU(s)", printed)
            self.assertIn("3 function(s)", printed)
            figlet = next(line for line in printed.splitlines() if "figlet.openfaas-fn" in line)
            self.assertIn(f"dfaas.maxrate={maxrate},", figlet)
            self.assertIn("cost_ms 8.8889, queue 64, timeout_ms 2000", figlet)
            self.assertIn("max_inflight 0", figlet)

    def test_the_cost_scales_with_the_rates(self):
        directory = write("t2", 2)
        printed = check_config(os.path.join(directory, "mid.yaml"))
        self.assertIn("cost_ms 4.4444,", printed)  # 8.8889 / 2, to four decimals
        self.assertIn("dfaas.maxrate=450,", printed)  # T2's mid 225 x 2

    def test_the_maxrate_model_is_the_old_one(self):
        directory = write("t1", 1, "maxrate")
        printed = check_config(os.path.join(directory, "light.yaml"))
        self.assertNotIn("node model", printed)
        # ceil(200 x 1.1 x 40.2 ms) = 9, as the files before the node model had.
        self.assertIn("sleep_ms 40, replicas 1, max_inflight 9", printed)

    def test_bad_model_and_scale_are_refused(self):
        for args in (["t1", "1", "/tmp/unused", "fast"], ["t1", "0", "/tmp/unused"]):
            done = subprocess.run([sys.executable, SCRIPT, "functions", *args],
                                  capture_output=True, text=True)
            self.assertEqual(done.returncode, 2, args)
            self.assertIn("experiments:", done.stderr)

    def test_t5_gives_each_of_its_six_nodes_its_own_functions(self):
        directory = write("t5", 1)
        self.assertEqual(sorted(os.listdir(directory)), [f"{n}.yaml" for n in "abcdef"])
        for node, cpus in zip("abcdef", (2, 4, 6, 2, 4, 6)):
            printed = check_config(os.path.join(directory, f"{node}.yaml"))
            self.assertIn(f"node model: {cpus} virtual CPU(s)", printed)
            self.assertIn("6 function(s)", printed)
            self.assertEqual(printed.count("cost_ms 8.8889, queue 32, timeout_ms 2000"), 6)
        # a's home functions (figlet-1, shasum-1) with a light node's maxrate, kinds kept.
        printed = check_config(os.path.join(directory, "a.yaml"))
        figlet = next(line for line in printed.splitlines() if "figlet-1.openfaas-fn" in line)
        self.assertIn("behaviour figlet,", figlet)
        self.assertIn("dfaas.maxrate=100,", figlet)
        self.assertIn("dfaas.port=31011,", figlet)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
