#!/usr/bin/env bash
# N DFaaS nodes on one machine, in network namespaces on a bridge, plus a client namespace.
#
#   scripts/lab.sh up [--nodes 3] [--strategy recalc] [--period 10s] [--config FILE]
#                     [--models DIR] [--scrape 5s] [--functions DIR]
#   scripts/lab.sh status
#   scripts/lab.sh exec NODE CMD...        (NODE: a, b, c, ... or client)
#   scripts/lab.sh stop NODE               kills the node's agent and gateway (SIGKILL: a crash;
#                                          its data plane keeps its last policies, Prometheus runs)
#   scripts/lab.sh start NODE              starts them again as `up` did, waits until ready
#   scripts/lab.sh down
#
# Each node runs dfaas-faas-sim as its OpenFaaS gateway (capacities of the reference's test
# environment: nodes cycle light, mid, heavy), a real Prometheus scraping the simulator and the
# agent every 5 s, and dfaas-agent with the data plane on the node's eth0. The agents share a
# cluster key and know one seed each (a ring); gossip does the rest. Node X is at 10.77.0.<n>
# (a = .1, b = .2, ...), the client at 10.77.0.100, function ports 31001 (figlet), 31002
# (shasum), 31003 (env). `--config FILE` is given to every agent (its node-specific keys are set
# by the lab through environment variables). `down` removes every namespace, mount, pin and
# process the lab made, also after a crash, and may be run twice. `--functions DIR` replaces the
# simulator's function files: DIR/light.yaml, DIR/mid.yaml, DIR/heavy.yaml (the experiments
# give every scenario its own maxrates and capacities); DIR/<node>.yaml, when there is one, wins
# over its type's file (T5 gives each node its own functions).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# DFAAS_LAB_ID: several labs side by side (the demo, the experiments and the tests use their
# own, so they never touch the lab a user keeps up); the default is "lab".
export E2E_ID=${DFAAS_LAB_ID:-lab} E2E_KEEP=1 E2E_DETACH=1
# The agents would warn about a DFAAS_* variable that is not one of their keys.
export -n DFAAS_LAB_ID 2>/dev/null || true
source "$here/lib/netns.sh"
source "$here/lib/dfaas_node.sh"

LAB_STATE="$E2E_RUN/lab.env"
NODE_NAMES=(a b c d e f g h i j k l m n o p)
TYPES=(light mid heavy)

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 1
}

die() {
  echo "lab: $*" >&2
  exit 1
}

# Node Margin thresholds of the reference's test environment (cpu %, ram bytes, power uW).
thresholds_of() {
  case $1 in
  light) echo "104 4100000000 700000" ;;
  mid) echo "190 5500000000 2100000" ;;
  heavy) echo "235 6000000000 3500000" ;;
  esac
}

lab_is_up() { ip netns list 2>/dev/null | grep -q "^$E2E_PREFIX-"; }

cmd_up() {
  local nodes=3 strategy="" period="" config="" models="" scrape=5s
  local functions="$E2E_ROOT/userspace/tools/faas-sim/examples"
  while (($#)); do
    case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --strategy) strategy=$2; shift 2 ;;
    --period) period=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --scrape) scrape=$2; shift 2 ;;
    --functions) functions=$2; shift 2 ;;
    *) usage ;;
    esac
  done
  [[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 1 && nodes <= ${#NODE_NAMES[@]})) ||
    die "--nodes must be 1..${#NODE_NAMES[@]}"
  [[ -z $config || -r $config ]] || die "--config: cannot read $config"
  local i t
  for ((i = 0; i < nodes; i++)); do
    t=${TYPES[$((i % 3))]}
    [[ -r $functions/${NODE_NAMES[$i]}.yaml || -r $functions/$t.yaml ]] ||
      die "--functions: cannot read $functions/${NODE_NAMES[$i]}.yaml or $functions/$t.yaml"
  done
  [[ -x "$E2E_BIN/dfaas-agent" ]] || die "no build in $E2E_BIN (run scripts/setup.sh)"
  if lab_is_up; then die "a lab is already up (scripts/lab.sh down first)"; fi
  if [[ $strategy == nodemargin || $strategy == nms || $strategy == nodemarginstrategy ]]; then
    models=${models:-${DFAAS_FORECASTER_DATA_DIR:-$E2E_ROOT/../shared/data/forecaster}}
    [[ -d $models ]] || die "Node Margin needs the forecaster models: --models DIR"
  fi

  # A failure half-way (an error, or a helper that exits, such as a wait that times out)
  # leaves nothing behind.
  trap 'echo "lab: up failed; cleaning up" >&2; cmd_down >/dev/null 2>&1' EXIT
  export NODE_SCRAPE_INTERVAL=$scrape
  NODE_PROM_WINDOW=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)s', '$scrape'); print(f'{4*int(m.group(1))}s' if m else '20s')")
  export NODE_PROM_WINDOW
  e2e_switch
  e2e_bpffs
  e2e_host client 100
  # The client opens a connection per request: a wide port range, reuse of TIME_WAIT ports.
  in_ns client sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
  openssl rand -hex 32 >"$E2E_RUN/cluster.key"
  local base="$E2E_RUN/agent-base.yaml"
  if [[ -n $config ]]; then cp "$config" "$base"; else : >"$base"; fi
  export NODE_BASE_CONFIG=$base

  local name type seed thr file
  : >"$LAB_STATE"
  for ((i = 0; i < nodes; i++)); do
    name=${NODE_NAMES[$i]}
    type=${TYPES[$((i % 3))]}
    seed="$E2E_SUBNET.$(((i + 1) % nodes + 1)):30090"
    read -r -a thr <<<"$(thresholds_of "$type")"
    NODE_AGENT_ENV[$name]="DFAAS_NODE_TYPE=$type DFAAS_PEERS_CLUSTER_KEY_FILE=$E2E_RUN/cluster.key \
DFAAS_PEERS_SEEDS=$seed DFAAS_OPENFAAS_TIMEOUT=1s DFAAS_PROMETHEUS_TIMEOUT=1s \
DFAAS_FORECASTER_TIMEOUT=1s DFAAS_STRATEGY_EXTERNAL_TIMEOUT=1s \
DFAAS_STRATEGY_NMS_CPU_THRESHOLD=${thr[0]} DFAAS_STRATEGY_NMS_RAM_THRESHOLD=${thr[1]} \
DFAAS_STRATEGY_NMS_POWER_THRESHOLD=${thr[2]}"
    # Flags win over --config; without either, the lab runs Recalc with a 10 s period.
    if [[ -n $strategy || -z $config ]]; then NODE_AGENT_ENV[$name]+=" DFAAS_STRATEGY_NAME=${strategy:-recalc}"; fi
    if [[ -n $period || -z $config ]]; then NODE_AGENT_ENV[$name]+=" DFAAS_STRATEGY_PERIOD=${period:-10s}"; fi
    [[ -n $models ]] && NODE_AGENT_ENV[$name]+=" DFAAS_FORECASTER_MODELS_DIR=$models"
    file=$functions/$type.yaml
    [[ -r $functions/$name.yaml ]] && file=$functions/$name.yaml
    dfaas_node_start "$name" $((i + 1)) "$file"
    echo "$name $((i + 1)) $type ${NODE_IP[$name]}" >>"$LAB_STATE"
    # What `start` needs to bring the node's agent and gateway back in another process.
    printf '%s\n' "${NODE_AGENT_ENV[$name]}" >"$E2E_RUN/$name/agent.env"
    printf '%s\n' "$file" >"$E2E_RUN/$name/functions.path"
  done
  for ((i = 0; i < nodes; i++)); do
    name=${NODE_NAMES[$i]}
    wait_until 60 node_ready "$name" || die "node $name not ready after 60 s (logs: $E2E_LOGS)"
  done
  trap - EXIT
  echo "lab up: $nodes node(s), strategy ${strategy:-from config/recalc}, period ${period:-from config/10s}; logs in $E2E_LOGS" >&2
  cmd_status
}

cmd_down() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$E2E_PREFIX-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.5
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$E2E_PREFIX-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if mountpoint -q "$E2E_RUN/bpf" 2>/dev/null; then umount "$E2E_RUN/bpf"; fi
  rm -rf "$E2E_RUN"
  echo "lab down" >&2
}

not_up() {
  rm -rf "$E2E_RUN"  # sourcing the helpers made an empty run directory
  die "no lab is up (scripts/lab.sh up)"
}

cmd_status() {
  lab_is_up || not_up
  [[ -r $LAB_STATE ]] || die "lab state missing ($LAB_STATE): scripts/lab.sh down, then up"
  local name num type ip
  printf '%-5s %-12s %-6s %-6s %-28s %s\n' NODE ADDRESS TYPE READY PEERS WEIGHTS
  while read -r name num type ip; do
    local status peers weights ready
    status=$(in_ns "$name" curl -s --max-time 2 http://127.0.0.1:9080/v1/status || echo '{}')
    ready=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1] or "{}"); print("yes" if d.get("ready") else "no")' "$status")
    peers=$(in_ns "$name" curl -s --max-time 2 http://127.0.0.1:9080/v1/peers | python3 -c '
import json, sys
try: print(",".join(p["id"] + ":" + p["state"] for p in json.load(sys.stdin)) or "-")
except Exception: print("?")')
    weights=$(in_ns "$name" curl -s --max-time 2 http://127.0.0.1:9080/v1/policies | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    out = []
    for f, p in sorted(d.items()):
        w = ["local %d" % p["local"]] + ["%s %d" % (a, v) for a, v in p["peers"].items()]
        if p["reject"]: w.append("reject %d" % p["reject"])
        if p["local_cap"]: w.append("cap %d" % p["local_cap"])
        if p["overflow"]: w.append("overflow " + "/".join(f"{a}={v}" for a, v in p["overflow"].items()))
        out.append(f + ": " + ", ".join(w))
    print("; ".join(out) or "-")
except Exception: print("?")')
    printf '%-5s %-12s %-6s %-6s %-28s %s\n' "$name" "$ip" "$type" "$ready" "$peers" "$weights"
  done <"$LAB_STATE"
}

# node_processes NODE: pids of the node's agent and gateway (not its Prometheus).
node_processes() {
  local pid
  for pid in $(ip netns pids "$(ns_of "$1")" 2>/dev/null); do
    case $(cat "/proc/$pid/comm" 2>/dev/null) in dfaas-agent | dfaas-faas-sim) echo "$pid" ;; esac
  done
}

known_node() {
  lab_is_up || not_up
  awk -v n="$1" '$1 == n {found = 1} END {exit !found}' "$LAB_STATE" 2>/dev/null ||
    die "no such node: $1 (see scripts/lab.sh status)"
}

cmd_stop() {
  (($# == 1)) || usage
  known_node "$1"
  local pids
  pids=$(node_processes "$1")
  [[ -n $pids ]] || die "node $1: its agent and gateway are not running"
  # shellcheck disable=SC2086  # one pid per word
  kill -KILL $pids
  local deadline=$((SECONDS + 5))
  while [[ -n $(node_processes "$1") ]]; do
    ((SECONDS < deadline)) || die "node $1: still running 5 s after SIGKILL"
    sleep 0.1
  done
  echo "lab: node $1: agent and gateway killed" >&2
}

cmd_start() {
  (($# == 1)) || usage
  known_node "$1"
  local name=$1 functions
  [[ -z $(node_processes "$name") ]] || die "node $name: running already (scripts/lab.sh stop $name first)"
  [[ -r $E2E_RUN/$name/agent.env && -r $E2E_RUN/$name/functions.path ]] ||
    die "node $name: no start record (a lab brought up by an older lab.sh: down, then up)"
  functions=$(cat "$E2E_RUN/$name/functions.path")
  NODE_AGENT_ENV[$name]=$(cat "$E2E_RUN/$name/agent.env")
  NODE_AGENT_RUNS[$name]=$(date +%s)  # log files of their own per start
  e2e_bg "$name-faas-sim-${NODE_AGENT_RUNS[$name]}" in_ns "$name" "$E2E_BIN/dfaas-faas-sim" \
    --functions "$functions" --node "node-$name" --threads 256 --log-level warn
  wait_http "$name" http://127.0.0.1:8080/healthz
  dfaas_node_restart_agent "$name"
  wait_until 60 node_ready "$name" || die "node $name not ready 60 s after its start (logs: $E2E_LOGS)"
  echo "lab: node $name: agent and gateway started, ready" >&2
}

cmd_exec() {
  (($# >= 2)) || usage
  lab_is_up || not_up
  local node=$1
  shift
  ip netns list | awk '{print $1}' | grep -qx "$(ns_of "$node")" || die "no such node: $node"
  exec ip netns exec "$(ns_of "$node")" "$@"
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
exec) shift; cmd_exec "$@" ;;
stop) shift; cmd_stop "$@" ;;
start) shift; cmd_start "$@" ;;
*) usage ;;
esac
