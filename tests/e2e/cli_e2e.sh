#!/usr/bin/env bash
# dfaasctl against a running agent in a test namespace: every command in table and JSON form
# checked against the agent's and the data plane's state, -o yaml read back equal to -o json, every
# exit code (docs/operations.md, "Exit codes"), --watch with --count, an override visible in the
# data plane and expiring, the agent down (exit 5, one line) while the `dp` commands keep working.
source "$(dirname "$0")/../../scripts/lib/netns.sh"
source "$(dirname "$0")/../../scripts/lib/dfaas_node.sh"

CTL="$E2E_BIN/dfaasctl"
TOKEN=cli-e2e-secret-token

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client 100
  cat >"$E2E_RUN/functions.yaml" <<YAML
functions:
  - name: figlet
    behaviour: figlet
    labels: {dfaas.maxrate: "500", dfaas.port: "31001"}
  - name: echo
    behaviour: echo
    labels: {dfaas.port: "31002"}
YAML
  printf '%s\n' "$TOKEN" >"$E2E_RUN/token"
  dfaas_node_start a 1 "$E2E_RUN/functions.yaml" \
    "strategy: {name: alllocal, period: 3s}
api: {token_file: $E2E_RUN/token}"
  wait_until 30 node_ready a || log "node a not ready"
}

ctl() { in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" "$@"; }
# The same as a command line, for `bash -c` conditions.
ctl_line() { echo "ip netns exec $(ns_of a) $CTL --bpffs $E2E_RUN/bpf/a"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
traffic() {
  for _ in $(seq "$1"); do
    in_ns client curl -s -o /dev/null -H 'Connection: close' -d hi "http://${NODE_IP[a]}:31002/function/echo"
  done
}

test_read_commands() {
  local out
  out=$(ctl status)
  check "status (table) names the node and says ready" bash -c "grep -q 'node-a' <<<'$out' && grep -Eq 'ready +yes' <<<'$out'"
  out=$(ctl -o json status)
  check "status -o json: node_id and readiness" [ "$(jq_py 'd["node_id"], d["ready"]' <<<"$out")" == "node-a True" ]
  out=$(ctl functions)
  check "functions (table) lists figlet and echo with their ports" \
    bash -c "grep -Eq '^figlet +31001' <<<'$out' && grep -Eq '^echo +31002' <<<'$out'"
  local agent_ports dp_ports
  agent_ports=$(ctl -o json functions | jq_py 'sorted((f["name"], f["port"]) for f in d)')
  dp_ports=$(ctl -o json dp service list | jq_py 'sorted((s["function"], s["port"]) for s in d)')
  check "functions -o json agrees with the data plane's services ($agent_ports)" [ "$agent_ports" == "$dp_ports" ]
  local as_json as_yaml
  # Documents that do not change between the two calls (status counts recalculations, policy
  # versions move with each strategy period); richer documents are in tests/unit/cli.
  for cmd in "dp service list" "dp peer list" version; do
    # shellcheck disable=SC2086 # the command's words
    as_json=$(ctl -o json $cmd | python3 -c 'import json,sys; print(json.load(sys.stdin))')
    # shellcheck disable=SC2086
    as_yaml=$(ctl -o yaml $cmd | python3 -c 'import yaml,sys; print(yaml.safe_load(sys.stdin))')
    check "$cmd: -o yaml is the same document as -o json" [ "$as_yaml" == "$as_json" ]
  done
  out=$(ctl -o json peers)
  check "peers -o json is a list" [ "$(jq_py 'type(d).__name__' <<<"$out")" == list ]
  out=$(ctl policies)
  check "policies (table) shows the strategy's all-local policies" bash -c "grep -Eq '^echo +strategy +100' <<<'$out'"
  out=$(ctl -o json policies echo)
  check "policies FUNCTION -o json" [ "$(jq_py 'd["echo"]["local"], d["echo"]["source"]' <<<"$out")" == "100 strategy" ]
}

test_stats() {
  traffic 20
  local out
  out=$(ctl -o json stats echo)
  log "stats: $(tr -d " \n" <<<"$out" | head -c 400)"
  check "stats FUNCTION -o json counts the requests (>= 20)" \
    [ "$(jq_py '[p["requests"] for p in d["paths"] if p["path"]=="local"][0] >= 20' <<<"$out")" == True ]
  (sleep 0.3; traffic 10) &
  local bg=$!
  out=$(ctl stats echo --watch 0.5s --count 3)
  wait $bg
  check "stats --watch --count 3 prints 3 tables when piped" [ "$(grep -c '^FUNCTION' <<<"$out")" -eq 3 ]
  check "piped output has no terminal escapes" bash -c "! grep -q $'\e' <<<'$out'"
  out=$(ctl -o json stats --watch 0.2s --count 2)
  check "stats --watch -o json prints one JSON document per refresh" \
    [ "$(python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["paths"]))' <<<"$out")" -eq 2 ]
}

test_mutations() {
  local before after
  before=$(ctl -o json status | jq_py 'd["last_recalc"]["iterations"]')
  ctl recalc 2>/dev/null
  wait_until 5 bash -c "[ \$($(ctl_line) -o json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"last_recalc\"][\"iterations\"])') -gt $before ]" || true
  after=$(ctl -o json status | jq_py 'd["last_recalc"]["iterations"]')
  check "recalc runs the strategy now ($before -> $after steps)" [ "$after" -gt "$before" ]

  ctl policy set echo --local 0 --reject 100 --ttl 3s >/dev/null
  local dp_pol
  dp_pol=$(ctl -o json dp policy show echo)
  check "policy set is visible in the data plane" [ "$(jq_py 'd["echo"]["reject"]' <<<"$dp_pol")" == 100 ]
  check "policies shows the override" bash -c "$(ctl_line) policies echo | grep -q override"
  wait_until 10 bash -c "$(ctl_line) -o json dp policy show echo | grep -q '\"reject\": 0'" || true
  dp_pol=$(ctl -o json dp policy show echo)
  check "the override expires after its TTL" [ "$(jq_py 'd["echo"]["reject"]' <<<"$dp_pol")" == 0 ]
  ctl policy set echo --local 50 --reject 50 >/dev/null
  ctl policy clear echo >/dev/null
  dp_pol=$(ctl -o json dp policy show echo)
  check "policy clear restores the strategy's policy" [ "$(jq_py 'd["echo"]["local"], d["echo"]["reject"]' <<<"$dp_pol")" == "100 0" ]
}

test_exit_codes() {
  local rc
  rc=0; ctl --no-such-flag >/dev/null 2>&1 || rc=$?
  check "usage error -> exit 2 ($rc)" [ "$rc" -eq 2 ]
  rc=0; ctl policies nosuch >/dev/null 2>&1 || rc=$?
  check "unknown function -> exit 3 ($rc)" [ "$rc" -eq 3 ]
  rc=0; in_ns client "$CTL" --agent "http://${NODE_IP[a]}:9080" policy set echo --local 100 >/dev/null 2>&1 || rc=$?
  check "mutation from another host without the token -> exit 4 ($rc)" [ "$rc" -eq 4 ]
  rc=0; in_ns client "$CTL" --agent "http://${NODE_IP[a]}:9080" --token "$TOKEN" policy set echo --local 100 >/dev/null 2>&1 || rc=$?
  check "... with the control token -> exit 0 ($rc)" [ "$rc" -eq 0 ]
  in_ns client "$CTL" --agent "http://${NODE_IP[a]}:9080" --token "$TOKEN" policy clear echo >/dev/null 2>&1 || true
  rc=0; ctl dp service --help >/dev/null || rc=$?
  check "--help at a nested level -> exit 0 ($rc)" [ "$rc" -eq 0 ]
  local out
  out=$(ctl -o json version)
  check "version -o json" [ "$(jq_py '"version" in d' <<<"$out")" == True ]
  ctl completion bash >"$E2E_RUN/completion.bash"
  check "completion bash is valid bash naming the commands" \
    bash -c "bash -n $E2E_RUN/completion.bash && grep -q '\" policy\") words=\"set clear' $E2E_RUN/completion.bash"
}

# dp attach with both conntrack sizes, on a host of its own (the agent's programs on node a stay
# untouched): out-of-range sizes refused before anything is loaded, the sizes given are the
# capacities of the pinned tables, and detach leaves nothing pinned.
test_dp_attach_sizes() {
  e2e_host attach 101
  local pins="$E2E_RUN/bpf/attach" ip="$E2E_SUBNET.101"
  attach_ctl() { in_ns attach "$CTL" --bpffs "$pins" "$@"; }
  local rc out
  rc=0; out=$(attach_ctl dp attach --iface eth0 --node-ip "$ip" --gateway "$ip:8080" --ct-half-open-entries 500 2>&1) || rc=$?
  check "dp attach --ct-half-open-entries 500 -> exit 2 naming the range ($rc)" \
    bash -c "[ $rc -eq 2 ] && grep -q '1024 to 16777216' <<<'$out'"
  rc=0; attach_ctl dp attach --iface eth0 --node-ip "$ip" --gateway "$ip:8080" --ct-entries 99999999 >/dev/null 2>&1 || rc=$?
  check "dp attach --ct-entries above the range -> exit 2 ($rc)" [ "$rc" -eq 2 ]
  check "... and nothing was pinned" [ ! -e "$pins" ]
  rc=0; out=$(attach_ctl -o json dp attach --iface eth0 --node-ip "$ip" --gateway "$ip:8080" \
    --ct-entries 4096 --ct-half-open-entries 2048) || rc=$?
  check "dp attach with both sizes -> exit 0 ($rc)" [ "$rc" -eq 0 ]
  check "the pinned tables have the sizes given (4096 established, 2048 half-open)" \
    [ "$(jq_py 'd["ct_capacity"], d["ct_half_open_capacity"]' <<<"$out")" == "4096 2048" ]
  out=$(attach_ctl dp status)
  check "dp status (table) shows the half-open capacity" bash -c "grep -Eq '^half-open capacity +2048' <<<'$out'"
  rc=0; attach_ctl dp detach 2>/dev/null || rc=$?
  check "dp detach -> exit 0 and no pin left ($rc)" bash -c "[ $rc -eq 0 ] && [ ! -e '$pins' ]"
}

test_agent_down() {
  dfaas_node_stop_agent a
  local out rc=0
  out=$(ctl status 2>&1 >/dev/null) || rc=$?
  check "agent down -> exit 5 ($rc)" [ "$rc" -eq 5 ]
  check "agent down -> says the connection was refused ($out)" bash -c "grep -q 'connection refused' <<<'$out'"
  check "agent down -> one line on stderr ($out)" [ "$(wc -l <<<"$out")" -eq 1 ]
  rc=0; out=$(ctl -o json dp stats) || rc=$?
  check "dp stats works with the agent down ($rc)" bash -c "[ $rc -eq 0 ] && grep -q '\"functions\"' <<<'$out'"
  rc=0; ctl dp policy show echo >/dev/null || rc=$?
  check "dp policy show works with the agent down ($rc)" [ "$rc" -eq 0 ]
}

setup
test_read_commands
test_stats
test_mutations
test_exit_codes
test_dp_attach_sizes
test_agent_down
e2e_finish
