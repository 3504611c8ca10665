#!/usr/bin/env bash
# scripts/lab.sh as a user drives it: up, status, exec, stop/start, down, up again, a crash,
# down twice.
#   up: three nodes ready, each knows the two others alive, a request on every node's figlet
#       port answers 200 through the data plane; status shows every node ready;
#   stop b: b's agent and gateway are gone (its Prometheus runs), a stops seeing b alive, b's
#       figlet port no longer answers 200; start b: ready again, seen alive, answers 200;
#   down: no namespace, mount, pinned map, process or run directory of the lab is left;
#   a failed up (agents refusing their config) removes what it made;
#   up again works; after agents and simulators are killed with SIGKILL (a crash), down still
#   removes everything; down twice is fine; status and exec without a lab fail with a message.
# The lab runs under its own id (DFAAS_LAB_ID), so a lab the user keeps up is not touched.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export DFAAS_LAB_ID="lt$(($$ % 100000))"
[[ -n "${DFAAS_BIN:-}" ]] && export DFAAS_BIN
LAB="$ROOT/scripts/lab.sh"
RUN="/run/dfaas-$DFAAS_LAB_ID"
PREFIX="df-$DFAAS_LAB_ID-"
FAILURES=0

trap '"$LAB" down >/dev/null 2>&1 || true' EXIT
pass() { printf 'ok   - %s\n' "$*"; }
fail() { printf 'FAIL - %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

if [[ $(id -u) -ne 0 ]]; then
  [[ -n "${DFAAS_TESTS_REQUIRE_ROOT:-}" ]] && { echo "FAIL: needs root" >&2; exit 1; }
  echo "skipped: needs root (network namespaces, eBPF)"
  exit 77
fi

api() { "$LAB" exec "$1" curl -s --max-time 2 "http://127.0.0.1:9080$2"; }
peers_alive() {  # NODE: how many peers the node sees alive
  api "$1" /v1/peers | python3 -c 'import json,sys; print(sum(p["state"] == "alive" for p in json.load(sys.stdin)))'
}
all_peers_alive() {
  local node
  for node in a b c; do [[ $(peers_alive "$node" 2>/dev/null) == 2 ]] || return 1; done
}
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
figlet_on() {  # NODE_NUMBER: HTTP code of one figlet request from the client
  "$LAB" exec client curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d DFaaS \
    "http://10.77.0.$1:31001/function/figlet"
}
leftovers() {  # prints whatever of the lab is left; empty when nothing
  ip netns list | awk '{print $1}' | grep "^$PREFIX" || true
  [[ -e $RUN ]] && echo "run directory $RUN"
  grep -q " $RUN/" /proc/mounts && echo "mount under $RUN"
  pgrep -af -- "$RUN/" || true
}
no_leftovers() {
  local left
  left=$(leftovers)
  [[ -z $left ]] || { echo "left behind:"; echo "$left"; return 1; }
}

up() {  # [LAB UP OPTIONS...]
  if ! "$LAB" up --period 2s --scrape 1s "$@" >"/tmp/lab-$DFAAS_LAB_ID.txt" 2>&1; then
    cat "/tmp/lab-$DFAAS_LAB_ID.txt"
    return 1
  fi
}

# ---- first up ----
check "lab up: three nodes ready" up
check "every node sees its two peers alive (gossip from one seed each)" wait_until 30 all_peers_alive
for n in 1 2 3; do
  check "figlet on node $n answers 200 through the data plane" test "$(figlet_on $n)" == 200
done
status=$("$LAB" status 2>&1)
check "status lists three ready nodes" test "$(grep -c ' yes ' <<<"$status")" -eq 3
check "the data plane's programs are pinned in the lab's bpffs" test -e "$RUN/bpf/a"

# ---- stop and start one node (what experiment T4 does) ----
node_down() {  # NODE: no agent or gateway left in it
  ! ip netns pids "${PREFIX}$1" | xargs -r -I{} cat /proc/{}/comm 2>/dev/null |
    grep -Eq '^dfaas-(agent|faas-sim)$'
}
a_sees_b() {  # STATE: a lists node-b in that state (or not at all for "gone")
  local states
  states=$(api a /v1/peers | python3 -c 'import json,sys; print(" ".join(p["id"] + ":" + p["state"] for p in json.load(sys.stdin)))')
  if [[ $1 == gone ]]; then ! grep -q 'node-b:alive' <<<"$states"; else grep -q "node-b:$1" <<<"$states"; fi
}
check "stop b: kills b's agent and gateway" "$LAB" stop b
check "b runs neither its agent nor its gateway" node_down b
check "b's Prometheus still runs" bash -c "ip netns pids '${PREFIX}b' | xargs -r -I{} cat /proc/{}/comm | grep -qx prometheus"
check "a stops seeing b alive (TTL 2.4 s)" wait_until 15 a_sees_b gone
check "b's figlet port no longer answers 200" test "$(figlet_on 2)" != 200
err=$("$LAB" stop b 2>&1 || true)
check "stop b again names the problem" grep -q "not running" <<<"$err"
check "start b: ready again" "$LAB" start b
check "a sees b alive again" wait_until 30 a_sees_b alive
check "figlet on node 2 answers 200 again" test "$(figlet_on 2)" == 200
err=$("$LAB" start b 2>&1 || true)
check "start b while it runs names the problem" grep -q "running already" <<<"$err"
err=$("$LAB" stop x 2>&1 || true)
check "stop of an unknown node names the problem" grep -q "no such node" <<<"$err"

# ---- down, nothing left ----
"$LAB" down >/dev/null 2>&1
check "down: nothing of the lab is left" no_leftovers

# ---- up again (with the experiments' node-model files), crash, down ----
# The simulators then export node-exporter's CPU and memory series, which the agents' default
# node queries must each reduce to one series, or no node becomes ready (a CI catch).
node_model="/tmp/lab-$DFAAS_LAB_ID-functions"
python3 "$ROOT/scripts/lib/experiments.py" functions t1 1 "$node_model"
check "lab up again, with node-model functions files (node-exporter series scraped)" \
  up --functions "$node_model"
check "node a's Prometheus has node-exporter's memory series" bash -c \
  "'$LAB' exec a curl -s 'http://127.0.0.1:9090/api/v1/query?query=node_memory_MemAvailable_bytes' | grep -q MemAvailable"
rm -rf "$node_model"
# The crash: every process of the lab (agents, simulators, Prometheus) dies at once.
for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX"); do
  ip netns pids "$ns" | xargs -r kill -9 2>/dev/null || true
done
"$LAB" down >/dev/null 2>&1
check "down after a crash (SIGKILL of every process): nothing is left" no_leftovers
check "down a second time succeeds" "$LAB" down
check "status without a lab fails" bash -c "! '$LAB' status 2>/dev/null"
err=$("$LAB" exec a true 2>&1 || true)
check "exec without a lab names the problem" grep -q "no lab is up" <<<"$err"
check "and leaves nothing behind either" no_leftovers

# ---- an up that fails half-way (the agents refuse their config) cleans up after itself ----
bad_config="/tmp/lab-$DFAAS_LAB_ID-bad.yaml"
printf 'strategy:\n  name: no-such-strategy\n' >"$bad_config"
out=$("$LAB" up --config "$bad_config" 2>&1) && rc=0 || rc=$?
check "up with agents that refuse their config fails (exit $rc)" test "$rc" -ne 0
check "and says it cleans up" grep -q "up failed; cleaning up" <<<"$out"
check "and leaves nothing behind" no_leftovers
rm -f "$bad_config"

rm -f "/tmp/lab-$DFAAS_LAB_ID.txt"
if ((FAILURES > 0)); then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
