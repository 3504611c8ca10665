#!/usr/bin/env python3
"""The command line of the DFaaS binaries, run as a user runs them (issue 16 item 4).

dfaasctl talks to a fake agent on 127.0.0.1 serving fixed documents, so -o json and -o yaml can
be compared on awkward values, the request the CLI sends can be checked, and every agent error
can be provoked. Runs inside `unshare --net` (see CMakeLists.txt): loopback only.
"""
import argparse
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

import yaml

ARGS = None  # the binaries and fixtures, from the command line

# Documents with values a careless YAML writer gets wrong: strings that read as booleans,
# numbers or null, empty strings and containers, nested lists, keys that look like numbers.
STATUS = {
    "node_id": "node-a",
    "ready": True,
    "strategy": "nms",
    "notes": ["yes", "no", "on", "null", "~", "123", "1.5", "0x1f", "", " padded ", "a: b",
              "# not a comment", "- dash", "line\nbreak", "quote\"d", "ünïcode"],
    "empty_map": {},
    "empty_list": [],
    "nested": [[1, 2], [], [{"a": None}], {"k": [True, False]}],
    "numbers": {"int": 7, "neg": -3, "big": 18446744073709551615, "float": 0.1,
                "tiny": 1e-05, "huge": 1e+20, "whole": 2.0},
    "10.0.0.1": {"8080": "port"},
    "last_recalc": {"iterations": 3, "duration_ms": 1.25},
}
RATES = {"user_rps": 0.0, "local_rps": 0.0, "reject_cps": 0.0, "to_peer_rps": {}}
FUNCTIONS = [{"name": "figlet", "port": 31001, "maxrate": 500, "labels": {"dfaas.group": "true"},
              "remote_only": False, "replicas": 1, "available_replicas": 1, "rates": RATES,
              "policy": None},
             {"name": "echo", "port": 31002, "maxrate": None, "labels": {}, "remote_only": False,
              "replicas": 2, "available_replicas": 1, "rates": RATES, "policy": None},
             # A function only peers run (issue 19): no replica here.
             {"name": "only-b", "port": 31050, "maxrate": None, "labels": {}, "remote_only": True,
              "runners": ["node-b"], "replicas": 0, "available_replicas": 0, "rates": RATES,
              "policy": None}]
PEERS = []
ZERO = {"connections": 0, "packets": 0, "bytes": 0, "requests": 0}
# /v1/stats with what the data plane measured of HTTP (issue 19): a local route with a latency
# histogram, a peer route answering 503 and not timed yet, a forwarded-in route without HTTP.
STATS = {"stats": {"functions": [{
    "name": "figlet", "id": 0,
    "local": {"connections": 10, "packets": 40, "bytes": 4000, "requests": 10},
    "reject": ZERO, "forwarded_in": ZERO, "forwarded_in_reject": ZERO,
    "to_peer": {"10.0.0.2": {"connections": 4, "packets": 16, "bytes": 1600, "requests": 4}},
    "forwarded_in_by_peer": {},
    "http": {"local": {"responses": 10, "timed": 10, "untimed": 0, "opaque_connections": 0,
                       "codes": {"200": 9, "429": 1}, "latency_sum_s": 0.05,
                       "buckets": [0] * 10 + [10] + [0] * 13, "p50_s": 0.006144,
                       "p99_s": 0.00806, "error_ratio": 0.1},
             "to_peer": {"10.0.0.2": {"responses": 4, "timed": 0, "untimed": 4,
                                      "opaque_connections": 0, "codes": {"503": 4},
                                      "latency_sum_s": 0, "buckets": [0] * 24, "p50_s": None,
                                      "p99_s": None, "error_ratio": 1.0}}},
    "user_requests": 14}], "reasons": {}, "peers": []},
    "rates_per_second": {}}
POLICIES = {"echo": {"local": 100, "reject": 0, "peers": {}, "source": "strategy"},
            # The feedback guard moved 10.0.0.2's share to local (issue 19).
            "figlet": {"local": 100, "reject": 0, "peers": {"10.0.0.3": 0}, "source": "strategy",
                       "guarded": [{"route": "10.0.0.2", "cause": "503s", "error_ratio": 1.0}]}}


class FakeAgent(http.server.BaseHTTPRequestHandler):
    """Fixed answers; 404, 403 and 500 on the paths named so; remembers the last request body."""
    last_body = None

    def log_message(self, *args):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        routes = {"/v1/status": STATUS, "/v1/functions": FUNCTIONS, "/v1/peers": PEERS,
                  "/v1/policies": POLICIES, "/v1/policies/echo": POLICIES, "/v1/stats": STATS}
        if self.path in routes:
            return self.answer(200, routes[self.path])
        if self.path == "/v1/policies/forbidden":
            return self.answer(403, {"error": "mutations need the control token"})
        if self.path == "/v1/policies/broken":
            return self.answer(500, {"error": "internal failure"})
        self.answer(404, {"error": "function not found"})

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        FakeAgent.last_body = json.loads(self.rfile.read(length))
        self.answer(200, POLICIES)


def run(binary, *args, timeout=20):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeAgent)
        cls.agent_url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def ctl(self, *args):
        return run(ARGS.dfaasctl, "--agent", self.agent_url, *args)


class Version(Base):
    def test_every_binary_prints_name_version_and_git_alike(self):
        lines = {}
        for name, binary in [("dfaasctl", ARGS.dfaasctl), ("dfaas-agent", ARGS.agent),
                             ("dfaas-loadgen", ARGS.loadgen), ("dfaas-faas-sim", ARGS.faas_sim)]:
            r = run(binary, "--version")
            self.assertEqual(r.returncode, 0, name + ": " + r.stderr)
            self.assertRegex(r.stdout, r"^%s \S+ \(\S+\)\n$" % re.escape(name))
            lines[name] = r.stdout.split(" ", 1)[1]
        self.assertEqual(len(set(lines.values())), 1, lines)
        sub = run(ARGS.dfaasctl, "version")
        self.assertEqual(sub.stdout, "dfaasctl " + lines["dfaasctl"])


class DidYouMean(Base):
    def check(self, args, expected):
        r = run(ARGS.dfaasctl, *args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(expected, r.stderr)

    def test_commands(self):
        self.check(["sttaus"], 'unknown command "sttaus" for "dfaasctl"; did you mean "status"?')
        self.check(["dp", "sevice", "list"],
                   'unknown command "sevice" for "dfaasctl dp"; did you mean "service"?')
        self.check(["dp", "policy", "shwo"], 'did you mean "show"?')

    def test_options_at_any_level(self):
        self.check(["--outptu", "json", "status"], 'did you mean "--output"?')
        self.check(["dp", "ct", "--limt", "5"], 'did you mean "--limit"?')

    def test_nothing_close_lists_the_commands(self):
        self.check(["dp", "zzzzzzzz"], "(commands: attach, detach, status, service")


class Yaml(Base):
    def same_document(self, *args):
        as_json = self.ctl("-o", "json", *args)
        as_yaml = self.ctl("-o", "yaml", *args)
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        self.assertEqual(as_yaml.returncode, 0, as_yaml.stderr)
        self.assertEqual(yaml.safe_load(as_yaml.stdout), json.loads(as_json.stdout), as_yaml.stdout)
        return as_yaml.stdout

    def test_agent_documents_read_back_equal(self):
        text = self.same_document("status")
        self.assertRegex(text, r"empty_map:\s+\{\}\n")
        self.assertRegex(text, r"empty_list:\s+\[\]\n")
        for args in (["functions"], ["peers"], ["policies"], ["policies", "echo"], ["version"]):
            self.same_document(*args)

    def test_option_after_the_command_too(self):
        r = self.ctl("status", "-o", "yaml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(yaml.safe_load(r.stdout), STATUS)

    def test_simulate_streams_a_yaml_list(self):
        fixture = os.path.join(ARGS.fixtures, "federation-static.json")
        as_json = run(ARGS.dfaasctl, "-o", "json", "simulate", "--snapshot", fixture, "--steps", "3")
        as_yaml = run(ARGS.dfaasctl, "-o", "yaml", "simulate", "--snapshot", fixture, "--steps", "3")
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        self.assertEqual(as_yaml.returncode, 0, as_yaml.stderr)
        self.assertEqual(len(json.loads(as_json.stdout)), 3)
        self.assertEqual(yaml.safe_load(as_yaml.stdout), json.loads(as_json.stdout))


class FunctionsTable(Base):
    def test_a_function_only_peers_run_says_remote_only(self):
        r = self.ctl("functions")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:] if line.strip()}
        self.assertIn("remote-only", rows["only-b"], r.stdout)
        self.assertNotIn("remote-only", rows["figlet"], r.stdout)
        self.assertIn("1/2", rows["echo"], r.stdout)


class PoliciesTable(Base):
    """dfaasctl policies: the feedback guard's routes per function (issue 19)."""

    def test_guard_column(self):
        r = self.ctl("policies")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[-1], "GUARD", r.stdout)
        rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
        self.assertTrue(rows["figlet"].rstrip().endswith("10.0.0.2 (503s)"), r.stdout)
        self.assertTrue(rows["echo"].rstrip().endswith("-"), r.stdout)
        as_json = json.loads(self.ctl("-o", "json", "policies").stdout)
        self.assertEqual(as_json["figlet"]["guarded"][0]["route"], "10.0.0.2")


class StatsTable(Base):
    """dfaasctl stats: responses, p50, p99 and error ratio per path (issue 19)."""

    def test_http_columns_per_path(self):
        r = self.ctl("stats")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[-4:], ["RESPONSES", "P50", "P99", "ERRORS"], r.stdout)
        rows = {}
        for line in lines[1:]:
            cells = line.split()
            path = " ".join(cells[1:3]) if cells[1] in ("peer",) else cells[1]
            rows[path] = cells
        self.assertEqual(rows["local"][-4:], ["10", "6.1ms", "8.1ms", "10.0%"], r.stdout)
        self.assertEqual(rows["peer 10.0.0.2"][-4:], ["4", "-", "-", "100.0%"], r.stdout)
        self.assertEqual(rows["reject"][-4:], ["-", "-", "-", "-"], r.stdout)

    def test_json_rows_carry_the_figures(self):
        r = self.ctl("-o", "json", "stats")
        self.assertEqual(r.returncode, 0, r.stderr)
        paths = {p["path"]: p for p in json.loads(r.stdout)["paths"]}
        self.assertEqual(paths["local"]["responses"], 10)
        self.assertAlmostEqual(paths["local"]["p50_s"], 0.006144)
        self.assertAlmostEqual(paths["local"]["error_ratio"], 0.1)
        self.assertIsNone(paths["peer 10.0.0.2"]["p99_s"])
        self.assertNotIn("responses", paths["reject"])


class Completion(Base):
    def script(self, shell):
        r = run(ARGS.dfaasctl, "completion", shell)
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.tmp, "dfaasctl." + shell)
        with open(path, "w") as f:
            f.write(r.stdout)
        return path

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cli-test-completion-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    DP_WORDS = {"attach", "detach", "status", "service", "peer", "policy", "stats", "ct", "gc"}

    def bash(self, *words):
        script = self.script("bash")
        line = " ".join("'%s'" % w for w in words)
        r = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c",
             'source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; _dfaasctl; printf "%%s\\n" "${COMPREPLY[@]}"'
             % (line, len(words) - 1), "bash", script], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        return set(r.stdout.split())

    def test_bash(self):
        self.assertEqual(self.bash("dfaasctl", "d"), {"dp"})
        self.assertTrue(self.DP_WORDS <= self.bash("dfaasctl", "dp", ""), self.bash("dfaasctl", "dp", ""))
        self.assertEqual({w for w in self.bash("dfaasctl", "dp", "service", "") if w[0] != "-"},
                         {"add", "del", "list"})
        self.assertIn("--limit", self.bash("dfaasctl", "dp", "ct", "--"))
        self.assertEqual(self.bash("dfaasctl", "-o", ""), {"table", "json", "yaml"})
        self.assertEqual({w for w in self.bash("dfaasctl", "completion", "") if w[0] != "-"},
                         {"bash", "zsh", "fish"})

    def zsh(self, *words):
        script = self.script("zsh")
        # compadd is shadowed by a function printing its words, so _dfaasctl runs as in a real
        # completion without a terminal.
        line = " ".join("'%s'" % w for w in words)
        r = subprocess.run(
            ["zsh", "-f", "-c",
             'autoload -Uz compinit && compinit -u -d "$2/zcompdump" && source "$1" && '
             '(( ${+_comps[dfaasctl]} )) || { echo "compdef not registered" >&2; exit 3; }; '
             'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; '
             'words=(%s); CURRENT=%d; _dfaasctl' % (line, len(words)), "zsh", script, self.tmp],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return set(r.stdout.split())

    @unittest.skipUnless(shutil.which("zsh"), "zsh is not installed (scripts/setup.sh --profile test)")
    def test_zsh(self):
        self.assertIn("dp", self.zsh("dfaasctl", "d"))
        self.assertTrue(self.DP_WORDS <= self.zsh("dfaasctl", "dp", ""))
        self.assertEqual(self.zsh("dfaasctl", "dp", "service", "") & self.DP_WORDS, set())
        self.assertTrue({"add", "del", "list"} <= self.zsh("dfaasctl", "dp", "service", ""))
        self.assertEqual(self.zsh("dfaasctl", "--output", ""), {"table", "json", "yaml"})

    def fish(self, *words):
        script = self.script("fish")
        # `complete -C LINE` prints what fish offers for LINE (word, then a tab and a description).
        r = subprocess.run(["fish", "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]',
                            script, " ".join(words)], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {l.split("\t")[0] for l in r.stdout.split("\n") if l}

    @unittest.skipUnless(shutil.which("fish"), "fish is not installed (scripts/setup.sh --profile test)")
    def test_fish(self):
        self.assertEqual(self.fish("dfaasctl", "d"), {"dp"})
        self.assertTrue(self.DP_WORDS <= self.fish("dfaasctl", "dp", ""), self.fish("dfaasctl", "dp", ""))
        self.assertEqual({w for w in self.fish("dfaasctl", "dp", "service", "") if w[0] != "-"},
                         {"add", "del", "list"})
        self.assertIn("--limit", self.fish("dfaasctl", "dp", "ct", "--"))
        self.assertEqual(self.fish("dfaasctl", "-o", ""), {"table", "json", "yaml"})
        self.assertEqual(self.fish("dfaasctl", "--output", ""), {"table", "json", "yaml"})
        self.assertEqual({w for w in self.fish("dfaasctl", "completion", "") if w[0] != "-"},
                         {"bash", "zsh", "fish"})


class ConnectionErrors(Base):
    def fails(self, args, code, *expected):
        r = run(ARGS.dfaasctl, *args)
        self.assertEqual(r.returncode, code, r.stderr)
        for text in expected:
            self.assertIn(text, r.stderr)
        self.assertEqual(len(r.stderr.strip().split("\n")), 1, r.stderr)

    def test_refused(self):
        with socket.socket() as s:  # a port known free: bound, never listening
            s.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
            self.fails(["--agent", url, "status"], 5, url, "connection refused",
                       "is dfaas-agent running?")

    def test_bad_url(self):
        for url in ["ftp://127.0.0.1:9080", "127.0.0.1:9080", "http://127.0.0.1:99999",
                    "http://127.0.0.1:9080/v1", "http://", "http://a b:80"]:
            self.fails(["--agent", url, "status"], 2, url, "bad URL")

    def test_unresolvable(self):
        self.fails(["--agent", "http://nonexistent.invalid:9080", "status"], 5,
                   'cannot resolve host "nonexistent.invalid"')

    def test_timeout(self):
        # Connections complete in the kernel's backlog; nobody ever reads or answers.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
            self.fails(["--agent", url, "--request-timeout", "300ms", "status"], 5,
                       "timed out after 300ms", "--request-timeout")

    def test_request_timeout_uses_the_duration_grammar(self):
        self.fails(["--request-timeout", "-1s", "status"], 2, '--request-timeout: "-1s" is negative')
        self.fails(["--request-timeout", "5x", "status"], 2, 'unknown unit "x"')


class ExitCodes(Base):
    def test_dfaasctl(self):
        self.assertEqual(self.ctl("-o", "json", "status").returncode, 0)
        # A document the table cannot show (the fake's status) is a failure, never a crash.
        self.assertEqual(self.ctl("status").returncode, 1)
        self.assertEqual(self.ctl("--no-such-flag").returncode, 2)
        self.assertEqual(self.ctl("policies", "nosuch").returncode, 3)
        self.assertEqual(self.ctl("policies", "forbidden").returncode, 4)
        self.assertEqual(self.ctl("policies", "broken").returncode, 1)
        self.assertEqual(self.ctl("stats", "--watch", "1x").returncode, 2)
        self.assertEqual(run(ARGS.dfaasctl).returncode, 2)  # no command
        self.assertEqual(run(ARGS.dfaasctl, "dp", "--help").returncode, 0)

    def test_agent(self):
        self.assertEqual(run(ARGS.agent, "--no-such-flag").returncode, 2)
        r = run(ARGS.agent, "--check-config", "-c", "/nonexistent/dfaas.yaml")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_loadgen(self):
        r = run(ARGS.loadgen, "--rate", "10", "--duration", "1h30x", "--target", "http://127.0.0.1:9/")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('--duration: "1h30x" is not a duration (unknown unit "x"', r.stderr)
        self.assertEqual(run(ARGS.loadgen, "--no-such-flag").returncode, 2)

    def test_faas_sim(self):
        self.assertEqual(run(ARGS.faas_sim, "--no-such-flag").returncode, 2)


class Durations(Base):
    def test_ttl_in_the_shared_grammar(self):
        r = self.ctl("policy", "set", "echo", "--local", "100", "--ttl", "1h30m")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(FakeAgent.last_body["ttl_s"], 5400)
        r = self.ctl("policy", "set", "echo", "--local", "100", "--ttl", "1.5s")
        self.assertEqual(FakeAgent.last_body["ttl_s"], 1.5)
        r = self.ctl("policy", "set", "echo", "--local", "100", "--ttl", "2562048h")
        self.assertEqual(r.returncode, 2)
        self.assertIn('--ttl: "2562048h" is too long a duration', r.stderr)


class InputCheckedBeforeMaps(Base):
    """Each dp command with a bad argument, the pin directory absent: the input error (2) comes
    first; had the maps been opened first, the answer would be 'not found' (3)."""

    def test_every_dp_command(self):
        pins = os.path.join(tempfile.gettempdir(), "cli-test-no-pins-%d" % os.getpid())
        long_name = "f" * 64
        cases = [
            ["dp", "service", "add", "0", "fn"],
            ["dp", "service", "add", "70000", "fn"],
            ["dp", "service", "add", "8080", long_name],
            ["dp", "service", "add", "8080", "fn", "--addr", "1.2.3"],
            ["dp", "service", "del", "8080", "--addr", "nowhere"],
            ["dp", "peer", "add", "10.0.0"],
            ["dp", "peer", "del", "not-an-ip"],
            ["dp", "policy", "set", "fn", "--local", "101"],
            ["dp", "policy", "set", "fn", "--peer", "10.0.0.2=x"],
            ["dp", "policy", "set", "fn", "--local", "0", "--reject", "0"],
            ["dp", "policy", "set", long_name, "--local", "100"],
            ["dp", "policy", "show", long_name],
            ["dp", "policy", "clear", long_name],
            ["dp", "ct", "--limit", "0"],
            ["dp", "attach", "--iface", "lo", "--node-ip", "1.2.3", "--gateway", "1.2.3.4:80"],
            ["dp", "attach", "--iface", "lo", "--node-ip", "1.2.3.4", "--gateway", "1.2.3.4"],
        ]
        for args in cases:
            r = run(ARGS.dfaasctl, "--bpffs", pins, *args)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stderr))
            self.assertFalse(os.path.exists(pins), args)
        # The control: valid input does reach the (absent) maps.
        r = run(ARGS.dfaasctl, "--bpffs", pins, "dp", "service", "add", "8080", "fn")
        self.assertEqual(r.returncode, 3, r.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for name in ("--dfaasctl", "--agent", "--loadgen", "--faas-sim", "--fixtures"):
        parser.add_argument(name, required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
