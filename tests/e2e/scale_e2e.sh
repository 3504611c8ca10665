#!/usr/bin/env bash
# Scale limits are policies, not crashes (issue 14), on one real node (root, namespaces made
# here): dfaas-faas-sim serving 300 functions (the data plane holds 256), a real Prometheus, the
# agent with the peer protocol on, and 40 fake members (scripts/lib/fake_peers.py) heartbeating
# from 40 source addresses (the data plane has 32 peer slots). Checks that the agent stays alive
# and ready, keeps 32 members chosen by the rule (most shared functions, then the oldest) and
# reports 8 over capacity, serves the functions it keeps and reports the 44 it skips, and binds
# each member to the source address of its messages.
E2E_ID="${E2E_ID:-sc$$}"
source "$(dirname "$0")/../../scripts/lib/netns.sh"

A=1
IP_A=$E2E_SUBNET.$A
FAKES_HOST=200
FIRST_FAKE=11 # members at $E2E_SUBNET.11 .. .50
LAST_FAKE=50
SPOOFER=60 # a key holder at .60 claiming .61
CTL="$E2E_BIN/dfaasctl"
AGENT="$E2E_BIN/dfaas-agent"
FAKE_PEERS="$E2E_ROOT/scripts/lib/fake_peers.py"
FUNCTIONS=300

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client 100
  e2e_host a $A
  e2e_host fakes $FAKES_HOST
  for i in $(seq $FIRST_FAKE $LAST_FAKE) $SPOOFER; do
    ip -n "$(ns_of fakes)" addr add "$E2E_SUBNET.$i/24" dev eth0
  done
  in_ns a sysctl -qw net.ipv4.ip_forward=1
  {
    echo "functions:"
    for i in $(seq 1 $FUNCTIONS); do
      printf '  - {name: fn-%03d, behaviour: echo}\n' "$i"
    done
  } >"$E2E_RUN/functions.yaml"
  cat >"$E2E_RUN/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: gateway
    static_configs: [{targets: ["127.0.0.1:8080"]}]
  - job_name: dfaas-agent
    static_configs: [{targets: ["127.0.0.1:9080"]}]
YAML
  openssl rand -hex 32 >"$E2E_RUN/cluster.key"
  chmod 600 "$E2E_RUN/cluster.key"
  cat >"$E2E_RUN/agent.yaml" <<YAML
node: {ip: $IP_A, id_file: $E2E_RUN/node-id, state_file: $E2E_RUN/state.json}
dataplane: {interface: eth0, bpffs: $E2E_RUN/bpf/a}
strategy: {name: recalc, period: 6s}
openfaas: {timeout: 2s}
prometheus: {window: 3s, scrape_interval: 1s, timeout: 1s}
peers: {cluster_key_file: $E2E_RUN/cluster.key}
YAML
  e2e_bg faas-sim in_ns a "$E2E_BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions.yaml" \
    --node node-a --log-level warn
  wait_http a http://127.0.0.1:8080/healthz
  e2e_bg prometheus in_ns a prometheus --config.file="$E2E_RUN/prometheus.yml" \
    --storage.tsdb.path="$E2E_RUN/prom" --web.listen-address=127.0.0.1:9090 --log.level=warn
  e2e_bg agent in_ns a "$AGENT" --config "$E2E_RUN/agent.yaml"
  AGENT_PID=$!
  wait_http a http://127.0.0.1:9080/healthz 15
}

api() { in_ns a curl -s --max-time 3 "$@"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timed out: $what"; return 1; }
    sleep 0.5
  done
}
is_ready() { [ "$(api -o /dev/null -w '%{http_code}' http://127.0.0.1:9080/readyz)" == 200 ]; }
agent_alive() { kill -0 "$AGENT_PID" 2>/dev/null; }
metric() { api http://127.0.0.1:9080/metrics | awk -v m="$1" '$1 == m {print $2}'; }
# "state count ..." of the agent's members, sorted.
peer_state_counts() {
  api http://127.0.0.1:9080/v1/peers | python3 -c '
import collections, json, sys
c = collections.Counter(p["state"] for p in json.load(sys.stdin))
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))'
}
over_capacity_addresses() {
  api http://127.0.0.1:9080/v1/peers | python3 -c '
import json, sys
print(" ".join(sorted((p["address"] for p in json.load(sys.stdin) if p["state"] == "over_capacity"),
                      key=lambda a: int(a.rsplit(".", 1)[1]))))'
}
no_member_waiting() { [ "$(metric dfaas_peers_over_capacity)" == 0 ]; }
FAKE_PIDS=""
fake_peers() { in_ns fakes python3 "$FAKE_PEERS" --key-file "$E2E_RUN/cluster.key" --target "$IP_A:30090" "$@"; }

test_forty_members() {
  check "agent ready with $FUNCTIONS functions listed" wait_for 40 ready is_ready
  # The first 32 sources share one function with the node, the last 8 share two: the rule keeps
  # the 8 sharing most plus the 24 oldest of the others, and the youngest 8 of those wait.
  local shares_one="$E2E_SUBNET.$FIRST_FAKE-$((LAST_FAKE - 8))"
  local shares_two="$E2E_SUBNET.$((LAST_FAKE - 7))-$LAST_FAKE"
  fake_peers --sources "$shares_one" --functions fn-001:31001 --count 1 >"$E2E_LOGS/round1.log"
  fake_peers --sources "$shares_two" --functions fn-001:31001,fn-002:31002 --count 1 \
    >>"$E2E_LOGS/round1.log"
  check "every one of the 40 signed heartbeats was accepted (204)" \
    bash -c "! grep -q '\"errors\": {[^}]' $E2E_LOGS/round1.log"
  # Keep them alive: heartbeats every ~0.5 s, well inside the member TTL (1.2 periods, 7.2 s).
  e2e_bg fakes-one in_ns fakes python3 "$FAKE_PEERS" --key-file "$E2E_RUN/cluster.key" \
    --target "$IP_A:30090" --sources "$shares_one" --functions fn-001:31001 --count 0 --interval 0.5
  FAKE_PIDS="$!"
  e2e_bg fakes-two in_ns fakes python3 "$FAKE_PEERS" --key-file "$E2E_RUN/cluster.key" \
    --target "$IP_A:30090" --sources "$shares_two" --functions fn-001:31001,fn-002:31002 \
    --count 0 --interval 0.5
  FAKE_PIDS+=" $!"
  sleep 8 # many control ticks and heartbeat rounds, and a strategy period
  check "agent still running after 40 members joined" agent_alive
  check "agent still ready" wait_for 10 ready is_ready
  local counts
  counts=$(peer_state_counts)
  check "32 members kept, 8 over capacity (/v1/peers: $counts)" \
    [ "$counts" == "alive=32 over_capacity=8" ]
  local waiting expected=""
  waiting=$(over_capacity_addresses)
  for i in $(seq $((LAST_FAKE - 15)) $((LAST_FAKE - 8))); do expected+="${expected:+ }$E2E_SUBNET.$i"; done
  check "the 8 waiting are the youngest sharing fewest functions ($waiting)" [ "$waiting" == "$expected" ]
  if [ "$waiting" != "$expected" ]; then grep -E 'peer slots|left \(TTL\)' "$E2E_LOGS/agent.log" | head -20 >&2; api http://127.0.0.1:9080/v1/peers | python3 -c '
import json,sys
for p in sorted(json.load(sys.stdin), key=lambda p: p["joined_unix"]): print(p["address"], p["state"], p["joined_unix"], p["messages"])' >&2; fi
  check "dfaas_peers_over_capacity is 8 ($(metric dfaas_peers_over_capacity))" \
    [ "$(metric dfaas_peers_over_capacity)" == 8 ]
  local dp_peers
  dp_peers=$(in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp peer list | json_get 'len(d)')
  check "the data plane holds 32 peers ($dp_peers)" [ "$dp_peers" == 32 ]
  local shown
  shown=$(in_ns a "$CTL" --agent http://127.0.0.1:9080 peers 2>&1 | grep -c over_capacity || true)
  check "dfaasctl peers shows the 8 over capacity ($shown)" [ "$shown" == 8 ]
}

test_three_hundred_functions() {
  local skipped served
  skipped=$(metric 'dfaas_functions_skipped{reason="dataplane_capacity"}')
  check "44 functions skipped for the data plane's capacity (dfaas_functions_skipped $skipped)" \
    [ "$skipped" == 44 ]
  served=$(api http://127.0.0.1:9080/v1/functions | json_get 'len(d)')
  check "256 functions served ($served)" [ "$served" == 256 ]
  local port code
  port=$(api http://127.0.0.1:9080/v1/functions | json_get '[f["port"] for f in d if f["name"]=="fn-001"][0]')
  code=$(in_ns client curl -s -o /dev/null --max-time 5 -w '%{http_code}' -d x \
    "http://$IP_A:$port/function/fn-001" || true)
  check "a kept function answers through the data plane (fn-001 on port $port: HTTP $code)" \
    [ "$code" == 200 ]
  local absent
  absent=$(api http://127.0.0.1:9080/v1/functions | json_get 'sum(1 for f in d if f["name"]=="fn-300")')
  check "a skipped function is not announced (fn-300 listed $absent times)" [ "$absent" == 0 ]
  check "skips logged once, naming the reason" \
    bash -c "[ \$(grep -c 'not served: dataplane_capacity' $E2E_LOGS/agent.log) -eq 1 ]"
  check "no uncaught exception in the agent's log" bash -c "! grep -q 'terminate called' $E2E_LOGS/agent.log"
  # At the limits the agent's peak RSS stays under half the chart's memory limit (256 MiB), as
  # issue 14 asks of every attack (it was 270 MiB when /metrics exported every function-peer
  # pair). The figure is printed for docs/security.md.
  local peak_kib
  peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$AGENT_PID/status")
  check "agent peak RSS with 40 members and 300 functions: $((peak_kib / 1024)) MiB (< 128)" \
    [ "$peak_kib" -lt $((128 * 1024)) ]
}

test_identity_binding() {
  local out rc=0
  out=$(fake_peers --sources "$E2E_SUBNET.$SPOOFER" --claim-ip "$E2E_SUBNET.$((SPOOFER + 1))" \
    --functions fn-001:31001 --count 1 --expect 403 --id-prefix spoof) || rc=$?
  check "a member claiming another address is refused with 403 ($out)" \
    bash -c "[ $rc -eq 0 ] && grep -q source_mismatch <<<'$out'"
  local refused
  refused=$(metric 'dfaas_peer_messages_rejected_total{reason="source_mismatch"}')
  check "counted as source_mismatch ($refused)" [ "${refused:-0}" -ge 1 ]
  local spoofers
  spoofers=$(api http://127.0.0.1:9080/v1/peers | json_get 'sum(1 for p in d if p["id"].startswith("spoof-"))')
  check "the spoofer is no member ($spoofers)" [ "$spoofers" == 0 ]
}

test_departure() {
  # The fakes stop: every member dies after its TTL and nobody is over capacity any more.
  stop_fakes
  check "members leave after their TTL, over capacity back to 0" \
    wait_for 20 "over capacity 0" no_member_waiting
  check "agent still running" agent_alive
  check "agent still ready" wait_for 10 ready is_ready
}

# Stops the two heartbeat loops started by test_forty_members (by their own pids).
stop_fakes() {
  local pid
  for pid in $FAKE_PIDS; do kill "$pid" 2>/dev/null || true; done
}

setup
test_forty_members
test_three_hundred_functions
test_identity_binding
test_departure
e2e_finish
