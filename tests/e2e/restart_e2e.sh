#!/usr/bin/env bash
# Restarts lose nothing (issue 14, item 4), between real agents (root, namespaces made here).
# Two peered nodes a and b; an operator override on a sends half of figlet's connections to b
# (forward path), half stay local; an open-loop load (new connections, and keep-alive connections
# held across the restarts) runs through a the whole time. Agent a is then
#   1. SIGKILLed and started again (what a crash-looping pod does), and
#   2. SIGKILLed, its programs replaced in place by a fresh load over the same pinned maps
#      (dfaasctl dp attach, as an upgraded image does), and started again.
# Checked: 0 failed requests; b never leaves a's data-plane peer table (sampled every 0.1 s, and
# no "removed from the data plane" in any of a's logs); the override is back after each restart
# with its original absolute expiry; forwarded connections to b keep being made after each
# restart; the programs' ids changed (replaced, not left) while the maps stayed. Measured and
# printed: failed requests, time from the kill to /readyz and to b being a real member again.
# Last, a's gateway comes back listing no function: a keeps serving until that persisted for two
# periods, then removes the function.
source "$(dirname "$0")/../../scripts/lib/netns.sh"
source "$(dirname "$0")/../../scripts/lib/dfaas_node.sh"

CTL="$E2E_BIN/dfaasctl"
LOADGEN="$E2E_BIN/dfaas-loadgen"
PERIOD=4s
LOAD_SECONDS=300  # an upper bound: the load is stopped (SIGINT) once both restarts are checked
RATE=40

functions_file() {  # NAME
  cat >"$E2E_RUN/functions-$1.yaml" <<YAML
functions:
  - name: figlet
    behaviour: figlet
    labels: {dfaas.maxrate: "1000", dfaas.port: "31001"}
YAML
  echo "$E2E_RUN/functions-$1.yaml"
}

agent_extra() {  # SEED
  printf 'strategy: {name: recalc, period: %s}\npeers: {cluster_key_file: %s, seeds: ["%s:30090"]}\n' \
    "$PERIOD" "$E2E_RUN/cluster.key" "$1"
}

peer_states() {  # NODE -> "id:state ..." sorted
  node_api "$1" /v1/peers | python3 -c '
import json, sys
print(" ".join(sorted(p["id"] + ":" + p["state"] for p in json.load(sys.stdin))))'
}
b_alive_at_a() { grep -q 'node-b:alive' <<<"$(peer_states a)"; }
a_alive_at_b() { grep -q 'node-a:alive' <<<"$(peer_states b)"; }

dp_peers_of_a() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp peer list |
    python3 -c 'import json,sys; print(" ".join(sorted(p["addr"] for p in json.load(sys.stdin))))'
}

prog_ids_of_a() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp status |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["ingress_prog_id"], s["egress_prog_id"])'
}

connections_to_b() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp stats | python3 -c "
import json, sys
f = [f for f in json.load(sys.stdin)['functions'] if f['name'] == 'figlet'][0]
print(f['to_peer'].get('$E2E_SUBNET.2', {}).get('connections', 0))"
}

override_expiry() {  # -> the unix second figlet's override on a expires, or "none"
  node_api a /v1/policies | python3 -c '
import json, sys
p = json.load(sys.stdin).get("figlet", {})
print(p.get("override_expires_unix", "none") if p.get("source") == "override" else "none")'
}

override_weights() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp policy show figlet | python3 -c '
import json, sys
p = json.load(sys.stdin)["figlet"]
print(p["local"], " ".join(f"{k}={v}" for k, v in sorted(p["peers"].items())))'
}

limit_in_of_a_at_b() {
  in_ns b "$CTL" --bpffs "$E2E_RUN/bpf/b" -o json dp policy show figlet | python3 -c "
import json, sys
print(json.load(sys.stdin)['figlet'].get('limit_in', {}).get('$E2E_SUBNET.1', 'none'))"
}
b_admits_a() { local l; l=$(limit_in_of_a_at_b); [ "$l" == none ] || [ "$l" -gt 0 ]; }

setup() {
  e2e_switch
  e2e_bpffs
  e2e_host client 100
  openssl rand -hex 32 >"$E2E_RUN/cluster.key"
  chmod 600 "$E2E_RUN/cluster.key"
  dfaas_node_start a 1 "$(functions_file a)" "$(agent_extra "$E2E_SUBNET.2")"
  dfaas_node_start b 2 "$(functions_file b)" "$(agent_extra "$E2E_SUBNET.1")"
  check "a and b are members of each other" \
    bash -c "$(declare -f wait_until peer_states node_api in_ns ns_of b_alive_at_a a_alive_at_b);
      E2E_PREFIX=$E2E_PREFIX; wait_until 30 b_alive_at_a && wait_until 10 a_alive_at_b"
  check "b is in a's data-plane peer table ($(dp_peers_of_a))" [ "$(dp_peers_of_a)" == "$E2E_SUBNET.2" ]
}

# Samples a's data-plane peer table every 0.1 s until told to stop; one line per miss.
watch_peer_table() {
  while [ ! -e "$E2E_RUN/stop-watch" ]; do
    local peers
    peers=$(dp_peers_of_a 2>/dev/null || echo "unreadable")
    [[ " $peers " == *" $E2E_SUBNET.2 "* ]] || echo "$(date +%T.%N) b missing: '$peers'"
    sleep 0.1
  done
}

# kill_and_restart LABEL [upgrade]: SIGKILL a's agent; with "upgrade", replace the pinned programs
# in place first (a second, short-lived agent load over the same pins is what an upgraded image
# does). Prints the measured recovery.
kill_and_restart() {
  local label=$1 upgrade=${2:-} before_ids after_ids killed t_up t_ready t_member
  before_ids=$(prog_ids_of_a)
  local expiry_before
  expiry_before=$(override_expiry)
  kill -KILL "${NODE_AGENT_PID[a]}"
  wait "${NODE_AGENT_PID[a]}" 2>/dev/null || true
  killed=$EPOCHREALTIME
  echo -n "$killed " >>"$E2E_RUN/kills"
  if [ "$upgrade" == upgrade ]; then
    # A fresh load of the programs over a's pins (dfaasctl dp attach: BPF_TC_F_REPLACE, maps
    # reused) while no agent runs: what the init step of an upgraded image does. The restarted
    # agent then replaces them once more.
    in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" dp attach --iface eth0 --node-ip "$E2E_SUBNET.1" \
      --gateway "$E2E_SUBNET.1:8080" >"$E2E_LOGS/a-upgrade.log" 2>&1
    check "$label: programs reloaded in place while the agent is down ($before_ids -> $(prog_ids_of_a))" \
      [ "$(prog_ids_of_a)" != "$before_ids" ]
  fi
  local restarted=$EPOCHREALTIME
  dfaas_node_restart_agent a
  t_up=$(python3 -c "print(f'{$EPOCHREALTIME - $killed:.2f}')")
  wait_until 20 node_ready a || true
  t_ready=$(python3 -c "print(f'{$EPOCHREALTIME - $killed:.2f}')")
  wait_until 20 b_alive_at_a || true
  # From a's own log (the shell's polling is coarse on a busy machine): when b's first message
  # replaced the member kept from before the restart.
  t_member=$(python3 - "$E2E_LOGS/a-agent-${NODE_AGENT_RUNS[a]}.log" "$restarted" <<'PY'
import datetime, sys
for line in open(sys.argv[1]):
    if "replaces the member kept from before the restart" in line:
        at = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%f")
        print(f"{at.replace(tzinfo=datetime.timezone.utc).timestamp() - float(sys.argv[2]):.2f}")
        break
else:
    print("never")
PY
)
  local t_started
  t_started=$(python3 - "$E2E_LOGS/a-agent-${NODE_AGENT_RUNS[a]}.log" "$restarted" <<'PY'
import datetime, sys
for line in open(sys.argv[1]):
    if "data plane attached" in line:
        at = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%f")
        print(f"{at.replace(tzinfo=datetime.timezone.utc).timestamp() - float(sys.argv[2]):.2f}")
        break
else:
    print("never")
PY
)
  after_ids=$(prog_ids_of_a)
  local gap
  gap=$(python3 -c "print(f'{$restarted - $killed:.2f}')")
  echo "measured ($label): agent down ${gap} s (SIGKILL to the new start); after the new start: data plane re-attached ${t_started} s, b's first message replaced its kept member ${t_member} s (agent log); since the SIGKILL: API answers ${t_up} s, ready ${t_ready} s (shell polling)"
  check "$label: a ready again" node_ready a
  check "$label: b is a real member of a again ($(peer_states a))" b_alive_at_a
  check "$label: programs replaced in place ($before_ids -> $after_ids)" \
    bash -c "[ -n '$after_ids' ] && [ '$before_ids' != '$after_ids' ]"
  # The state file keeps milliseconds.
  local expiry_after
  expiry_after=$(override_expiry)
  check "$label: the override is back with its absolute expiry ($expiry_before -> $expiry_after)" \
    python3 -c "import sys; b, a = '$expiry_before', '$expiry_after'; sys.exit(0 if 'none' not in (a, b) and abs(float(a) - float(b)) < 0.002 else 1)"
  check "$label: its weights are in the data plane ($(override_weights))" \
    [ "$(override_weights)" == "50 $E2E_SUBNET.2=50" ]
}

test_restarts_under_load() {
  local ttl=600 set_at
  set_at=$(date +%s)
  node_api a /v1/policies/figlet -X PUT -d "{\"local\":50,\"peers\":{\"node-b\":50},\"ttl_s\":$ttl}" >/dev/null
  check "override set on a: figlet 50 local / 50 to b ($(override_weights))" \
    wait_until 5 bash -c "[ \"\$($(declare -f override_weights in_ns ns_of); E2E_PREFIX=$E2E_PREFIX \
      E2E_RUN=$E2E_RUN CTL=$CTL override_weights)\" == '50 $E2E_SUBNET.2=50' ]"
  local expiry
  expiry=$(override_expiry)
  check "override expiry is set ($expiry, set at $set_at)" \
    python3 -c "import sys; e = '$expiry'; sys.exit(0 if e != 'none' and abs(float(e) - $set_at - $ttl) <= 2 else 1)"

  # b runs Recalc: it admits a's forwarded connections once a's limits reached it (LimitIn).
  check "b admits a's forwarded connections (LimitIn of a at b: $(limit_in_of_a_at_b))" \
    wait_until 15 b_admits_a
  # New connections (one per request) and keep-alive connections held across the restarts.
  # e2e_bg: $! is the load generator itself (ip netns exec execs it), so SIGINT reaches it.
  e2e_bg load-new in_ns client "$LOADGEN" --rate "$RATE" --duration "${LOAD_SECONDS}s" \
    --timeout 2s --quiet --json --output "$E2E_RUN/new.json" --timeline "$E2E_RUN/new.csv" \
    --target "http://$E2E_SUBNET.1:31001/function/figlet"
  local load_new=$!
  LOAD_STARTED=$EPOCHREALTIME
  e2e_bg load-keepalive in_ns client "$LOADGEN" --rate 20 --duration "${LOAD_SECONDS}s" \
    --timeout 2s --quiet --json --output "$E2E_RUN/keepalive.json" --keepalive --connections 8 \
    --target "http://$E2E_SUBNET.1:31001/function/figlet"
  local load_keepalive=$!
  rm -f "$E2E_RUN/stop-watch"
  watch_peer_table >"$E2E_RUN/peer-misses.txt" &
  local watcher=$!

  sleep 6
  local fwd0 fwd1 fwd2
  fwd0=$(connections_to_b)
  kill_and_restart "SIGKILL restart"
  sleep 4
  fwd1=$(connections_to_b)
  check "forwarded connections to b continue after the restart ($fwd0 -> $fwd1)" [ "$fwd1" -gt "$fwd0" ]

  kill_and_restart "upgrade (programs replaced) + restart" upgrade
  sleep 4
  fwd2=$(connections_to_b)
  check "forwarded connections to b continue after the upgrade ($fwd1 -> $fwd2)" [ "$fwd2" -gt "$fwd1" ]

  kill -INT "$load_new" "$load_keepalive" 2>/dev/null || true
  wait "$load_new" || true
  wait "$load_keepalive" || true
  touch "$E2E_RUN/stop-watch"
  wait "$watcher" || true

  local results
  results=$(python3 - "$E2E_RUN/new.json" "$E2E_RUN/keepalive.json" <<'PY'
import json, sys
out = []
for path in sys.argv[1:]:
    r = json.load(open(path))
    ok = int(r["status_codes"].get("200", 0))
    out.append(f'{r["requests"]} {r["requests"] - ok}')
print(" ".join(out))
PY
)
  # Where the failures were, if any: kinds, and the seconds of the load that had them.
  python3 - "$E2E_RUN/new.json" "$E2E_RUN/keepalive.json" <<'PY' >&2
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    kinds = {k: v for k, v in r["error_kinds"].items() if v}
    codes = {k: v for k, v in r["status_codes"].items() if k != "200"}
    if kinds or codes:
        print(path, "errors:", kinds, "status codes:", codes, r.get("error_examples", {}))
PY
  awk -F, 'NR > 1 && $4 > 0 {print "second " $1 ": " $4 " error(s) of " $2}' "$E2E_RUN/new.csv" >&2
  echo "load started at $LOAD_STARTED; kills at: $(cat "$E2E_RUN/kills" 2>/dev/null)" >&2
  if [ -n "${RESTART_E2E_DEBUG:-}" ]; then
    for n in a b; do
      echo "---- $n: dp stats" >&2
      in_ns $n "$CTL" --bpffs "$E2E_RUN/bpf/$n" dp stats >&2 || true
    done
  fi
  local new_req new_failed ka_req ka_failed
  read -r new_req new_failed ka_req ka_failed <<<"$results"
  echo "measured: new connections: $new_failed failed of $new_req; keep-alive: $ka_failed failed of $ka_req"
  check "no request failed through both restarts (new connections: $new_failed of $new_req)" \
    bash -c "[ '$new_req' -gt 0 ] && [ '$new_failed' -eq 0 ]"
  check "no keep-alive request failed through both restarts ($ka_failed of $ka_req)" \
    bash -c "[ '$ka_req' -gt 0 ] && [ '$ka_failed' -eq 0 ]"
  local misses
  misses=$(wc -l <"$E2E_RUN/peer-misses.txt")
  check "b never left a's data-plane peer table (samples without it: $misses)" [ "$misses" -eq 0 ]
  head -n 3 "$E2E_RUN/peer-misses.txt" >&2
  check "no agent run of a removed b from the data plane" \
    bash -c "! grep -h 'removed from the data plane' $E2E_LOGS/a-agent-*.log"
  check "a restored the override from its state file" \
    grep -q 'override(s) restored' "$E2E_LOGS/a-agent-2.log"
}

local_service_of_a() {
  in_ns a "$CTL" --bpffs "$E2E_RUN/bpf/a" -o json dp service list | python3 -c "
import json, sys
print(any(s['function'] == 'figlet' and s['addr'] == '$E2E_SUBNET.1' for s in json.load(sys.stdin)))"
}
a_serves_figlet() { [ "$(local_service_of_a)" == True ]; }
# Dropped from a's own functions: gone, or kept only as a function b runs (remote-only: a still
# steers its port, every connection to b; docs/strategies.md "Functions only peers run").
a_dropped_figlet() {
  node_api a /v1/functions | python3 -c '
import json, sys
f = [f for f in json.load(sys.stdin) if f["name"] == "figlet"]
sys.exit(0 if not f or (f[0]["remote_only"] and (f[0]["policy"] or {}).get("local", 0) == 0) else 1)'
}

# A gateway that restarts and answers [] for a while must not tear down the node's services: the
# empty list applies only once it persisted for two periods.
test_empty_function_list() {
  printf 'functions: []\n' >"$E2E_RUN/functions-empty.yaml"
  kill "${NODE_FAAS_PID[a]}"
  wait "${NODE_FAAS_PID[a]}" 2>/dev/null || true
  e2e_bg a-faas-sim-empty in_ns a "$E2E_BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions-empty.yaml" \
    --node node-a --threads 16 --log-level warn
  wait_http a http://127.0.0.1:8080/healthz
  local up=$EPOCHREALTIME
  sleep 5  # one period and more: the first empty answer has come, the third not yet
  check "a still serves figlet one period after the gateway first listed no function" a_serves_figlet
  check "a logged that it holds the empty list" \
    grep -q 'openfaas lists no function while this node serves' "$E2E_LOGS/a-agent-${NODE_AGENT_RUNS[a]}.log"
  wait_until 15 a_dropped_figlet || true
  local after
  after=$(python3 -c "print(f'{$EPOCHREALTIME - $up:.1f}')")
  echo "measured: the persistent empty list removed figlet ${after} s after the gateway came back empty (period $PERIOD)"
  check "the empty list applies once it persisted (figlet removed after ${after} s)" a_dropped_figlet
}

setup
test_restarts_under_load
test_empty_function_list
e2e_finish
