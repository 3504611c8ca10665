# A DFaaS node in a namespace: dfaas-faas-sim as its OpenFaaS gateway, a real Prometheus scraping
# the simulator and the agent, and dfaas-agent with the data plane on the node's eth0. Source
# after netns.sh (needs e2e_host, e2e_bg, in_ns, wait_http, E2E_RUN, E2E_BIN, E2E_SUBNET).
#
#   dfaas_node_start NAME NUM FUNCTIONS_FILE [AGENT_YAML_EXTRA]
#     starts the node NAME at $E2E_SUBNET.NUM; AGENT_YAML_EXTRA is appended to its agent.yaml
#     (more keys: strategy, peers, ...). Pids: NODE_FAAS_PID[NAME], NODE_PROM_PID[NAME],
#     NODE_AGENT_PID[NAME]. Files under $E2E_RUN/NAME/.
#     With NODE_BASE_CONFIG=FILE, agent.yaml is a copy of FILE and the node's own keys are
#     passed as environment variables instead (they override the file), so a user's config
#     applies to every node unchanged. NODE_AGENT_ENV[NAME] holds extra "KEY=VALUE" words.
#   dfaas_node_restart_agent NAME, dfaas_node_stop_agent NAME
#   node_api NAME PATH [CURL ARGS...]   the agent's API from inside the node

declare -gA NODE_FAAS_PID NODE_PROM_PID NODE_AGENT_PID NODE_IP NODE_AGENT_RUNS NODE_AGENT_ENV
: "${NODE_SCRAPE_INTERVAL:=1s}"
: "${NODE_PROM_WINDOW:=3s}"

dfaas_node_start() {
  local name=$1 num=$2 functions=$3 extra=${4:-}
  local dir="$E2E_RUN/$name" ip="$E2E_SUBNET.$num"
  mkdir -p "$dir"
  NODE_IP[$name]=$ip
  e2e_host "$name" "$num"
  # As on a Kubernetes node: IPv4 forwarding on (the data plane works without it too).
  in_ns "$name" sysctl -qw net.ipv4.ip_forward=1
  cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: $NODE_SCRAPE_INTERVAL, evaluation_interval: $NODE_SCRAPE_INTERVAL}
scrape_configs:
  - job_name: gateway
    static_configs: [{targets: ["127.0.0.1:8080"]}]
  - job_name: dfaas-agent
    static_configs: [{targets: ["127.0.0.1:9080"]}]
YAML
  if [[ -n "${NODE_BASE_CONFIG:-}" ]]; then
    cp "$NODE_BASE_CONFIG" "$dir/agent.yaml"
    NODE_AGENT_ENV[$name]="DFAAS_NODE_IP=$ip DFAAS_NODE_ID=node-$name DFAAS_NODE_ID_FILE=$dir/node-id \
DFAAS_NODE_STATE_FILE=$dir/state.json \
DFAAS_DATAPLANE_INTERFACE=eth0 DFAAS_DATAPLANE_BPFFS=$E2E_RUN/bpf/$name \
DFAAS_PROMETHEUS_WINDOW=$NODE_PROM_WINDOW DFAAS_PROMETHEUS_SCRAPE_INTERVAL=$NODE_SCRAPE_INTERVAL \
${NODE_AGENT_ENV[$name]:-}"
  else
    cat >"$dir/agent.yaml" <<YAML
node: {ip: $ip, id: node-$name, id_file: $dir/node-id, state_file: $dir/state.json}
dataplane: {interface: eth0, bpffs: $E2E_RUN/bpf/$name}
openfaas: {timeout: 1s}
prometheus: {window: $NODE_PROM_WINDOW, scrape_interval: $NODE_SCRAPE_INTERVAL, timeout: 1s}
$extra
YAML
  fi
  e2e_bg "$name-faas-sim" in_ns "$name" "$E2E_BIN/dfaas-faas-sim" --functions "$functions" \
    --node "node-$name" --threads 256 --log-level warn
  NODE_FAAS_PID[$name]=$!
  e2e_bg "$name-prometheus" in_ns "$name" prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/prom" --web.listen-address=127.0.0.1:9090 --log.level=warn
  NODE_PROM_PID[$name]=$!
  wait_http "$name" http://127.0.0.1:8080/healthz
  dfaas_node_restart_agent "$name"
}

dfaas_node_restart_agent() {
  local name=$1
  NODE_AGENT_RUNS[$name]=$((${NODE_AGENT_RUNS[$name]:-0} + 1))
  # shellcheck disable=SC2086  # NODE_AGENT_ENV holds separate KEY=VALUE words
  e2e_bg "$name-agent-${NODE_AGENT_RUNS[$name]}" in_ns "$name" env ${NODE_AGENT_ENV[$name]:-} \
    "$E2E_BIN/dfaas-agent" --config "$E2E_RUN/$name/agent.yaml"
  NODE_AGENT_PID[$name]=$!
  wait_http "$name" http://127.0.0.1:9080/healthz 20
}

dfaas_node_stop_agent() {
  local name=$1 pid=${NODE_AGENT_PID[$1]}
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

node_api() {
  local name=$1 path=$2
  shift 2
  in_ns "$name" curl -s --max-time 5 "$@" "http://127.0.0.1:9080$path"
}

# node_ready NAME: the agent's /readyz answers 200.
node_ready() {
  [ "$(in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9080/readyz)" == 200 ]
}

# wait_until SECONDS COMMAND...: polls every 0.5 s.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
