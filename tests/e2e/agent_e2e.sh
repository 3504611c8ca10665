#!/usr/bin/env bash
# Integration test of dfaas-agent on one node (root, namespaces made here): dfaas-faas-sim as the
# OpenFaaS gateway, a real Prometheus scraping the simulator and the agent, the agent with the
# data plane on the node's eth0, and a client.
#   discovery and ports, traffic through the data plane, Prometheus scraping dfaas_* and the
#   agent's queries returning real numbers, /metrics through promtool, an override with a TTL,
#   OpenFaaS down -> not ready with the last policies kept and traffic still steered -> ready,
#   an established connection surviving an agent restart, --check-config, --detach.
source "$(dirname "$0")/../../scripts/lib/netns.sh"

A=1
IP_A=$E2E_SUBNET.$A
CTL="$E2E_BIN/dfaasctl"
AGENT="$E2E_BIN/dfaas-agent"

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client 100
  e2e_host a $A
  in_ns a sysctl -qw net.ipv4.ip_forward=1
  cat >"$E2E_RUN/functions.yaml" <<YAML
functions:
  - name: figlet
    behaviour: figlet
    labels: {dfaas.maxrate: "500", dfaas.group: LOW_USAGE}
  - name: echo
    behaviour: echo
    labels: {dfaas.port: "31500"}
  - name: slow
    behaviour: sleep
    sleep_ms: 4000
YAML
  cat >"$E2E_RUN/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: gateway
    static_configs: [{targets: ["127.0.0.1:8080"]}]
  - job_name: dfaas-agent
    static_configs: [{targets: ["127.0.0.1:9080"]}]
YAML
  cat >"$E2E_RUN/agent.yaml" <<YAML
node: {ip: $IP_A, id_file: $E2E_RUN/node-id, state_file: $E2E_RUN/state.json}
dataplane: {interface: eth0, bpffs: $E2E_RUN/bpf/a}
strategy: {name: recalc, period: 3s}
openfaas: {timeout: 1s}
prometheus: {window: 3s, scrape_interval: 1s, timeout: 1s}
api: {listen: 0.0.0.0:9080}  # reachable from the client (default without a token: 127.0.0.1)
YAML
  start_faas_sim
  e2e_bg prometheus in_ns a prometheus --config.file="$E2E_RUN/prometheus.yml" \
    --storage.tsdb.path="$E2E_RUN/prom" --web.listen-address=127.0.0.1:9090 --log.level=warn
  start_agent
}

start_faas_sim() {
  e2e_bg faas-sim in_ns a "$E2E_BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions.yaml" \
    --node node-a --log-level warn
  FAAS_PID=$!
  wait_http a http://127.0.0.1:8080/healthz
}

start_agent() {
  e2e_bg "agent-$((++AGENT_RUNS))" in_ns a "$AGENT" --config "$E2E_RUN/agent.yaml"
  AGENT_PID=$!
  wait_http a http://127.0.0.1:9080/healthz
}
AGENT_RUNS=0

api() { in_ns a curl -s --max-time 3 "$@"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out: $what"; return 1; }
    sleep 0.5
  done
}

is_ready() { [ "$(api -o /dev/null -w '%{http_code}' http://127.0.0.1:9080/readyz)" == 200 ]; }
call() {
  in_ns client curl -s -o /dev/null --max-time 5 -H 'Connection: close' \
    -w '%{http_code} %header{dfaas-node-id}' -d x "http://$IP_A:$1/function/$2"
}

test_discovery_and_traffic() {
  check "agent becomes ready (data plane attached, OpenFaaS and Prometheus answering)" \
    wait_for 30 ready is_ready
  local functions
  functions=$(api http://127.0.0.1:9080/v1/functions)
  local echo_port figlet_port
  echo_port=$(json_get '[f["port"] for f in d if f["name"]=="echo"][0]' <<<"$functions")
  figlet_port=$(json_get '[f["port"] for f in d if f["name"]=="figlet"][0]' <<<"$functions")
  check "dfaas.port label honoured (echo on $echo_port)" [ "$echo_port" == 31500 ]
  check "figlet got a port from the range ($figlet_port)" [ "$figlet_port" -ge 31000 -a "$figlet_port" -le 31999 ]
  FIGLET_PORT=$figlet_port
  local got
  got=$(call 31500 echo)
  check "curl through the data plane to echo ($got)" [ "$got" == "200 node-a" ]
  got=$(call "$figlet_port" figlet)
  check "curl through the data plane to figlet ($got)" [ "$got" == "200 node-a" ]
  local services
  services=$(in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp service list)
  check "services written to the data plane" grep -q "\"port\": $figlet_port" <<<"$services"
}

test_prometheus() {
  # Steady traffic while Prometheus and the agent look (rates cover the last 3 s only).
  (while true; do call 31500 echo >/dev/null || true; sleep 0.1; done) &
  local traffic=$!
  check "Prometheus scrapes the agent's dfaas_* metrics" wait_for 20 "dfaas metrics in Prometheus" \
    bash -c "ip netns exec $(ns_of a) curl -s 127.0.0.1:9090/api/v1/query --data-urlencode 'query=dfaas_connections_total{function=\"echo\",path=\"local\"} > 0' | grep -q '\"function\":\"echo\"'"
  check "the agent's Prometheus queries return real numbers (echo invocation rate)" \
    wait_for 20 "gateway rates in /v1/functions" bash -c \
    "ip netns exec $(ns_of a) curl -s 127.0.0.1:9080/v1/functions | python3 -c 'import json,sys; d=json.load(sys.stdin); e=[f for f in d if f[\"name\"]==\"echo\"][0]; sys.exit(0 if e[\"gateway\"][\"rate_by_code\"].get(\"200\",0) > 0 else 1)'"
  kill $traffic
  wait $traffic 2>/dev/null || true
  api http://127.0.0.1:9080/metrics >"$E2E_RUN/metrics.txt"
  check "/metrics passes promtool check metrics" promtool check metrics <"$E2E_RUN/metrics.txt"
}

test_override() {
  local code
  # `dfaasctl monitor` follows the agent's events (the monitor of the data plane has its own test
  # in dataplane_e2e.sh).
  local mon_out="$E2E_RUN/monitor-agent.jsonl" mon_err="$E2E_RUN/monitor-agent.err" mon i
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json monitor --type policy --function echo \
    --duration 4s >"$mon_out" 2>"$mon_err" &
  mon=$!
  for ((i = 0; i < 50; i++)); do grep -q 'listening for agent events' "$mon_err" && break; sleep 0.1; done
  api -X PUT -d '{"local":0,"reject":100,"ttl_s":3}' http://127.0.0.1:9080/v1/policies/echo >/dev/null
  local rc=0
  in_ns client curl -s -o /dev/null --max-time 2 "http://$IP_A:31500/function/echo" || rc=$?
  check "override (reject 100) visible in the data plane: connection refused (curl $rc)" [ "$rc" -eq 7 ]
  local pol
  pol=$(in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp policy show echo)
  check "override visible with dfaasctl dp policy show" grep -q '"reject": 100' <<<"$pol"
  # The override is an agent event: in GET /v1/events and in `dfaasctl monitor` (issue 16.4).
  local events
  events=$(api "http://127.0.0.1:9080/v1/events?since=0")
  check "the override is a policy event in /v1/events" python3 -c 'import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if any(e["type"] == "policy" and e.get("function") == "echo" and e["detail"].endswith("-> local=0 reject=100") for e in d["events"]) else 1)' "$events"
  code=$(in_ns a curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:9080/v1/events?since=x")
  check "/v1/events?since=x is refused ($code)" [ "$code" == 400 ]
  check "override expires after its TTL" wait_for 10 "override expiry" \
    bash -c "[ \"\$(ip netns exec $(ns_of client) curl -s -o /dev/null -w '%{http_code}' --max-time 2 -d x http://$IP_A:31500/function/echo)\" == 200 ]"
  code=$(in_ns client curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"local":100}' \
    "http://$IP_A:9080/v1/policies/echo")
  check "mutations from a non-loopback client without the token are refused ($code)" [ "$code" == 403 ]
  wait $mon || true
  check "dfaasctl monitor showed the override ($(head -c 300 "$mon_out"))" \
    grep -q '"detail":"[^"]*-> local=0 reject=100","function":"echo"' "$mon_out"
}

test_openfaas_down() {
  local before
  before=$(in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp policy show figlet)
  kill "$FAAS_PID"
  wait "$FAAS_PID" 2>/dev/null || true
  check "OpenFaaS down -> not ready" wait_for 15 "not ready" bash -c \
    "[ \"\$(ip netns exec $(ns_of a) curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:9080/readyz)\" == 503 ]"
  local reasons
  reasons=$(api http://127.0.0.1:9080/readyz)
  check "readiness names the failing input" grep -q openfaas <<<"$reasons"
  local after
  after=$(in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp policy show figlet)
  check "last policies kept while OpenFaaS is down" [ "$before" == "$after" ]
  local conns_before conns_after
  conns_before=$(steered echo)
  call 31500 echo >/dev/null || true
  conns_after=$(steered echo)
  check "traffic to existing functions still steered ($conns_before -> $conns_after)" [ "$conns_after" -gt "$conns_before" ]
  check "the agent is still alive" kill -0 "$AGENT_PID"
  start_faas_sim
  check "OpenFaaS back -> ready again" wait_for 20 ready is_ready
}

steered() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp stats |
    python3 -c "import json,sys; d=json.load(sys.stdin); print([f['local']['connections'] for f in d['functions'] if f['name']=='$1'][0])"
}

test_restart() {
  local out="$E2E_RUN/slow.out"
  local slow_port
  slow_port=$(api http://127.0.0.1:9080/v1/functions | json_get '[f["port"] for f in d if f["name"]=="slow"][0]')
  in_ns client curl -s --max-time 15 -o /dev/null -w '%{http_code}' -H 'Connection: close' -d x \
    "http://$IP_A:$slow_port/function/slow" >"$out" &
  local curl_pid=$!
  sleep 1
  kill -TERM "$AGENT_PID"
  local rc=0
  wait "$AGENT_PID" || rc=$?
  check "agent exits cleanly on SIGTERM (exit $rc)" [ "$rc" -eq 0 ]
  local got
  got=$(call 31500 echo)
  check "data plane keeps serving while the agent is down ($got)" [ "$got" == "200 node-a" ]
  start_agent
  rc=0
  wait $curl_pid || rc=$?
  check "established connection survived the agent restart (curl $rc, HTTP $(cat "$out"))" \
    [ "$rc" -eq 0 -a "$(cat "$out")" == 200 ]
  check "restarted agent becomes ready" wait_for 30 ready is_ready
}

test_config_and_detach() {
  local out rc=0
  out=$(in_ns a "$AGENT" --config "$E2E_RUN/agent.yaml" --check-config 2>&1) || rc=$?
  check "--check-config prints the effective config (exit $rc)" \
    bash -c "[ $rc -eq 0 ] && grep -q 'period: 3s' <<<'$out'"
  printf 'strategy: {name: fastest}\nnode: {ip: %s}\n' "$IP_A" >"$E2E_RUN/bad.yaml"
  rc=0
  out=$(in_ns a "$AGENT" --config "$E2E_RUN/bad.yaml" --check-config 2>&1) || rc=$?
  check "invalid config: exit 2 naming the key ($rc: ${out:0:80})" \
    bash -c "[ $rc -eq 2 ] && grep -q 'strategy.name' <<<'$out'"
  kill -TERM "$AGENT_PID"
  wait "$AGENT_PID" 2>/dev/null || true
  in_ns a "$AGENT" --config "$E2E_RUN/agent.yaml" --detach 2>/dev/null
  check "--detach removes the programs and the pins" bash -c \
    "[ ! -e $E2E_RUN/bpf/a/dfaas_ct ] && ! ip netns exec $(ns_of a) tc filter show dev eth0 ingress | grep -q dfaas"
}

setup
test_discovery_and_traffic
test_prometheus
test_override
test_openfaas_down
test_restart
test_config_and_detach
e2e_finish
