#!/usr/bin/env bash
# The fault-injection suite: a lab (scripts/lab.sh) under a constant open-loop load through the
# forward and the local paths, one fault after the other, and per fault the requests that
# failed, the connections reset, the agents' peak RSS and the time to recover.
#
#   scripts/faults.sh [--quick] [--only NAME,NAME] [--out DIR] [--nodes N] [--period P]
#   scripts/faults.sh --list
#
#   --quick    the CI profile (short faults; under 4 minutes on a 2-core VM)
#   --only     run only these faults (names from --list), in the suite's order
#   --out DIR  results directory (default build/faults/<time>): faults.md, faults.json, and per
#              fault the load's reports, timelines and the attack tools' output
#   --nodes N  lab size (default 2: node a is loaded and forwards to b; b is also loaded)
#   --period P the agents' strategy period (default 2s; failure detection follows from it)
#
# The load: dfaas-loadgen from the lab's client namespace, one new connection per request,
# stream "a" to node a's figlet port (an operator override sends half of it to node b: the
# forward path) and stream "b" to node b's figlet port (local). Targets per fault: 0 failed
# requests and 0 reset connections, except where a node is really gone (there: new connections
# recover within 1.5 s) and where a peer's gateway answers 503 (peer-503: node a stops forwarding
# to it in under 2.5 s); every agent's peak RSS (VmHWM) < 64 MiB; no agent exits that the suite
# did not kill. Prints the table, writes it as markdown and JSON, exits 1 when a fault missed
# its target. Everything runs inside the lab's own namespaces (its own lab id), and the lab is
# torn down on every exit, also on failure or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LIB="$ROOT/scripts/lib"
BIN="${DFAAS_BIN:-$ROOT/build/bin}"
LAB="$ROOT/scripts/lab.sh"
# The system's Python, not a version manager's shim (which costs a second or more per start on a
# busy machine, and the suite starts it often).
PY=$(command -v /usr/bin/python3 || command -v python3)
export DFAAS_BIN="$BIN"

# peer-503 stays last: it leaves both agents on the Static strategy (restoring the lab's would
# cost the CI profile two more agent restarts and a rejoin).
ALL_FAULTS=(baseline tuple-reuse bodies slowloris members functions sigkill upgrade peer-killed
  node-down partition prometheus openfaas synflood peer-503)

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

QUICK=0 ONLY="" OUT="" NODES=2 PERIOD=2s
while (($#)); do
  case $1 in
  --quick) QUICK=1; shift ;;
  --full) QUICK=0; shift ;;
  --only) ONLY=$2; shift 2 ;;
  --out) OUT=$2; shift 2 ;;
  --nodes) NODES=$2; shift 2 ;;
  --period) PERIOD=$2; shift 2 ;;
  --list) printf '%s\n' "${ALL_FAULTS[@]}"; exit 0 ;;
  -h | --help) usage ;;
  *) echo "faults: unknown argument: $1" >&2; usage ;;
  esac
done
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 2 && NODES <= 16)) || { echo "faults: --nodes must be 2..16" >&2; exit 2; }
[[ $PERIOD =~ ^([0-9]+)s$ ]] || { echo "faults: --period must be whole seconds, e.g. 2s" >&2; exit 2; }
PERIOD_S=${BASH_REMATCH[1]}
if [[ -n $ONLY ]]; then
  for f in ${ONLY//,/ }; do
    [[ " ${ALL_FAULTS[*]} " == *" $f "* ]] || { echo "faults: no fault named '$f' (--list)" >&2; exit 2; }
  done
fi

if [[ $(id -u) -ne 0 ]]; then
  [[ -n "${DFAAS_TESTS_REQUIRE_ROOT:-}" ]] && { echo "faults: needs root" >&2; exit 1; }
  echo "faults: skipped: needs root (network namespaces, eBPF)"
  exit 77
fi
for tool in dfaas-agent dfaas-faas-sim dfaas-loadgen dfaasctl; do
  [[ -x $BIN/$tool ]] || { echo "faults: $BIN/$tool missing (scripts/setup.sh builds it)" >&2; exit 1; }
done

# Profile: how long each fault lasts.
if ((QUICK)); then
  BODY_BYTES=$((64 << 20)) LORIS_S=6 SIGKILL_S=10 UPGRADES=2 GONE_S=6 GARBAGE_S=4 FLOOD_S=6
  FLOOD_CONNS=1000 MEMBERS_S=6 FUNCTIONS_S=5 KA_INTERVAL=4 BASELINE_S=3 PRE_S=1 POST_S=2
  REUSE_S=4 ERRORS_S=5
else
  BODY_BYTES=$((256 << 20)) LORIS_S=30 SIGKILL_S=30 UPGRADES=5 GONE_S=15 GARBAGE_S=20 FLOOD_S=30
  FLOOD_CONNS=1000 MEMBERS_S=20 FUNCTIONS_S=20 KA_INTERVAL=10 BASELINE_S=20 PRE_S=2 POST_S=5
  REUSE_S=20 ERRORS_S=15
fi
# The client's ephemeral ports during the tuple-reuse fault (its own namespace only).
REUSE_PORTS="40000 41999"
FLOOD_RATE=${DFAAS_FAULTS_SYN_RATE:-50000}
RATE_A=40 RATE_B=20

export DFAAS_LAB_ID="ft$(($$ % 100000))"
RUN="/run/dfaas-$DFAAS_LAB_ID"
PREFIX="df-$DFAAS_LAB_ID"
SUBNET=10.77.0
IP_A=$SUBNET.1 IP_B=$SUBNET.2 IP_CLIENT=$SUBNET.100
OUT=${OUT:-$ROOT/build/faults/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROWS="$OUT/rows.jsonl"
: >"$ROWS"

log() { printf '[%s] faults: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
nsname() { echo "$PREFIX-$1"; }
# In the foreground only: started with & it would be a subshell, and $! not the program's pid.
inns() { local n; n=$(nsname "$1"); shift; ip netns exec "$n" "$@"; }
now() { echo "$EPOCHREALTIME"; }

# ---- cleanup: every exit, also on failure and signals ------------------------------------------
BG_PIDS=()
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -n ${KEEP_LOGS:-} && -d $RUN/logs ]]; then cp -r "$RUN/logs" "$OUT/lab-logs" 2>/dev/null; fi
  "$LAB" down >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bg() { "$@" & BG_PIDS+=($!); }

# ---- the lab's processes ------------------------------------------------------------------------
# pid of the process named COMM in NODE's namespace (empty when none).
pid_in() {
  local node=$1 comm=$2 pid
  for pid in $(ip netns pids "$(nsname "$node")" 2>/dev/null); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && { echo "$pid"; return 0; }
  done
  return 0
}

# The exact command line and environment the lab started a process with, saved once, so the
# suite restarts it the same way (the lab itself does not restart anything).
save_cmdline() {  # NODE COMM KEY
  local pid
  pid=$(pid_in "$1" "$2")
  [[ -n $pid ]] || { log "no $2 running on node $1"; return 1; }
  cp "/proc/$pid/cmdline" "$OUT/.cmd-$3"
  cp "/proc/$pid/environ" "$OUT/.env-$3"
}
# start_saved NODE KEY LOGNAME [--FLAG VALUE...]: starts the saved command again in NODE; a
# --FLAG given replaces the saved one's value (the programs refuse an option given twice).
# START_ENV (VAR=VALUE words) is added to the saved environment; env(1) applies assignments in
# order, so these win over the saved ones.
START_ENV=()
start_saved() {
  local node=$1 key=$2 logname=$3
  shift 3
  local -a argv envv
  mapfile -d '' argv <"$OUT/.cmd-$key"
  mapfile -d '' envv <"$OUT/.env-$key"
  local i replaced
  while (($# >= 2)); do
    replaced=0
    for ((i = 1; i + 1 < ${#argv[@]}; i++)); do
      if [[ ${argv[$i]} == "$1" ]]; then argv[i + 1]=$2 replaced=1; fi
    done
    ((replaced)) || argv+=("$1" "$2")
    shift 2
  done
  setsid ip netns exec "$(nsname "$node")" env -i "${envv[@]}" "${START_ENV[@]}" "${argv[@]}" "$@" \
    >>"$RUN/logs/$logname.log" 2>&1 </dev/null &
  disown $! 2>/dev/null || true
}
# stop_in NODE COMM [SIGNAL]: stops the process and waits until it is gone (5 s at most).
stop_in() {
  local pid
  pid=$(pid_in "$1" "$2")
  [[ -n $pid ]] || return 0
  kill "-${3:-TERM}" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.05; done
  [[ -e /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null
  return 0
}
wait_http_in() {  # NODE URL SECONDS
  local deadline=$((SECONDS + $3))
  until inns "$1" curl -s -o /dev/null --max-time 1 "$2"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}
AGENT_RUNS=0
restart_agent() {  # NODE
  AGENT_RUNS=$((AGENT_RUNS + 1))
  start_saved "$1" "agent-$1" "$1-agent-fault-$AGENT_RUNS"
  wait_http_in "$1" "http://127.0.0.1:9080/healthz" 20
}
ensure_agents() {  # restarts an agent that is gone (after a crash), so later faults still run
  local node
  for node in "${NODES_USED[@]}"; do
    if [[ -z $(pid_in "$node" dfaas-agent) ]]; then
      log "agent of node $node is gone: restarting it (the table counts the exit)"
      restart_agent "$node" || log "agent of node $node does not come back"
    fi
  done
}
api() { inns "$1" curl -s --max-time 2 "http://127.0.0.1:9080$2"; }
ctl() { local node=$1; shift; inns "$node" "$BIN/dfaasctl" --bpffs "$RUN/bpf/$node" "$@"; }
peer_alive() {  # NODE PEER_ID
  api "$1" /v1/peers | "$PY" -c "
import json, sys
sys.exit(0 if any(p['id'] == '$2' and p['state'] == 'alive' for p in json.load(sys.stdin)) else 1)" 2>/dev/null
}
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
# The forward path: half of node a's figlet connections go to node b. Set again before every
# fault, because an agent restart loses operator overrides today (issue 14). With
# FORWARD_BY=strategy (peer-503: the feedback guard adjusts the strategy's policies, never an
# operator's override), the override is cleared instead and the strategy's weights apply.
FORWARD_BY=override
ensure_forward_policy() {
  wait_until 30 peer_alive a node-b || log "node a does not see node b alive"
  if [[ $FORWARD_BY == strategy ]]; then
    ctl a policy clear figlet >/dev/null 2>&1 || inns a "$BIN/dfaasctl" policy clear figlet >/dev/null 2>&1 || true
    return 0
  fi
  ctl a policy set figlet --local 50 --peer node-b=50 >/dev/null 2>&1 ||
    inns a "$BIN/dfaasctl" policy set figlet --local 50 --peer node-b=50 >/dev/null 2>&1 ||
    log "cannot set the forward policy on node a"
}
# forwarding_works: 10 requests in a row to node a's figlet port all succeed (half of them are
# forwarded to b), so a fault's aftermath does not spill into the next fault's window.
forwarding_works() {
  local i code
  for i in $(seq 10); do
    code=$(inns client curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: close' \
      -d DFaaS "http://$IP_A:31001/function/figlet" || true)
    if [[ $code != 200 ]]; then
      # Which request failed and how (000: no answer within 2 s), for the row's evidence.
      echo "$(now) settle request $i: HTTP ${code:-000}" >>"$DIR/settle.log"
      return 1
    fi
  done
}
# settle: waits (up to 20 s) until forwarding works again; notes how long it took.
settle() {
  local t=$EPOCHREALTIME
  if wait_until 20 forwarding_works; then
    note "10 requests in a row through node a succeed again $("$PY" -c "print(f'{$EPOCHREALTIME - $t:.1f}')") s after $1"
  else
    note "requests through node a still fail 20 s after $1"
  fi
}
forwarded_to_b() {  # connections node a's data plane sent to node b (counter)
  ctl a -o json dp stats 2>/dev/null | "$PY" -c "
import json, sys
f = [f for f in json.load(sys.stdin)['functions'] if f['name'] == 'figlet']
print(f[0]['to_peer'].get('$IP_B', {}).get('connections', 0) if f else 0)" 2>/dev/null || echo 0
}

# ---- one fault's window ---------------------------------------------------------------------------
# window_start NAME: the constant load (two open-loop streams) and the RSS watcher; the load runs
# until window_end stops it. T0/T1: when the fault starts and ends (epoch seconds).
CUR="" DIR="" LOAD_PIDS=() WATCH_PID="" SAMPLER_PID="" LOADAVG_START="" T0="" T1="" KILLS="" NOTES=()
# dp_stats_dump FILE: every node's `dfaasctl dp stats -o json` as one JSON object per line
# ({"t": epoch, "node": N, "stats": ...}); a node whose data plane does not answer is left out.
dp_stats_dump() {
  local node t stats
  for node in "${NODES_USED[@]}"; do
    t=$(now)
    stats=$(ctl "$node" -o json dp stats 2>/dev/null | tr -d '\n') || continue
    [[ -n $stats ]] && printf '{"t": %s, "node": "%s", "stats": %s}\n' "$t" "$node" "$stats"
  done >>"$1"
}
# With DFAAS_FAULTS_DP_SAMPLE=1 (evidence for a failing row: which reason counters moved in
# which second on which node), the same every second during the window; it costs a dfaasctl
# run per node and second, so the CI profile does not sample.
dp_stats_sampler() {
  while :; do
    dp_stats_dump "$DIR/dp-stats-samples.jsonl"
    sleep 1
  done
}
window_start() {
  CUR=$1 DIR="$OUT/$1" T0="" T1="" KILLS="" NOTES=()
  mkdir -p "$DIR"
  LOADAVG_START=$(cut -d' ' -f1 /proc/loadavg)
  ensure_agents
  ensure_forward_policy
  "$PY" "$LIB/fault_watch.py" --out "$DIR/rss.json" "${WATCH_ARGS[@]}" &
  WATCH_PID=$!
  BG_PIDS+=("$WATCH_PID")
  dp_stats_dump "$DIR/dp-stats-before.jsonl"
  if [[ ${DFAAS_FAULTS_DP_SAMPLE:-0} == 1 ]]; then
    dp_stats_sampler &
    SAMPLER_PID=$!
    BG_PIDS+=("$SAMPLER_PID")
  fi
  LOAD_PIDS=()
  local stream ip rate
  for stream in a b; do
    if [[ $stream == a ]]; then ip=$IP_A rate=$RATE_A; else ip=$IP_B rate=$RATE_B; fi
    ip netns exec "$(nsname client)" "$BIN/dfaas-loadgen" --rate "$rate" --duration 30m --timeout 2s --quiet --json \
      --method POST --body DFaaS --timeline "$DIR/load-$stream.csv" \
      --target "http://$ip:31001/function/figlet" >"$DIR/load-$stream.json" 2>"$DIR/load-$stream.err" &
    LOAD_PIDS+=($!)
    BG_PIDS+=($!)
  done
  sleep "$PRE_S"
}
fault_start() { T0=$(now); }
fault_end() { T1=$(now); }
# window_end [row options...]: stops the load after POST_S more seconds, writes the row.
window_end() {
  [[ -n $T0 ]] || T0=$(now)
  [[ -n $T1 ]] || T1=$T0
  sleep "$POST_S"
  local pid
  for pid in "${LOAD_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill -TERM "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  if [[ -n $SAMPLER_PID ]]; then
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
  fi
  # The data planes' counters after the window: with dp-stats-before.jsonl, which reasons moved.
  dp_stats_dump "$DIR/dp-stats-after.jsonl"
  # The machine's load: on a busy 2-core VM failures can be the machine's, not the fault's
  # (the baseline row shows what the load alone gives).
  note "load average (1 min) at the window's start and end: $LOADAVG_START, $(cut -d' ' -f1 /proc/loadavg)"
  local -a notes=()
  local n
  for n in "${NOTES[@]}"; do notes+=(--note "$n"); done
  "$PY" "$LIB/fault_report.py" row --dir "$DIR" --rows "$ROWS" --name "$CUR" \
    --title "$TITLE" --t0 "$T0" --t1 "$T1" --kills "$KILLS" "${notes[@]}" "$@" || true
}
skip() {  # NAME TITLE REASON
  "$PY" "$LIB/fault_report.py" row --rows "$ROWS" --name "$1" --title "$2" --skip "$3"
}
note() { NOTES+=("$*"); log "$CUR: $*"; }
json_field() {  # FILE EXPR (python over `d`)
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null || echo "?"
}

# ---- the faults -----------------------------------------------------------------------------------

# Where the API port can be attacked from: the client namespace when the API listens on the
# node's address, else (the API bound to 127.0.0.1) from inside node a, on loopback.
api_attack_point() {
  if inns client curl -s -o /dev/null --max-time 1 "http://$IP_A:9080/healthz"; then
    echo "client $IP_A"
  else
    echo "a 127.0.0.1"
  fi
}

# 0. No fault: the load alone, so that failures the machine causes (a busy 2-core VM) are seen
#    apart from those a fault causes.
fault_baseline() {
  TITLE="baseline: the load alone, no fault"
  window_start baseline
  fault_start
  sleep "$BASELINE_S"
  fault_end
  window_end
}

# 0b. Client ports reused across nodes. Linux picks a client's source ports per destination, so
#     the same port soon serves a connection to node a (forwarded by a to b) and one to node b
#     (b's own user). Node b DNATs both to its gateway under one tuple; the earlier one, finished,
#     must not catch the later one's packets (it did: the forwarded connection's SYN-ACK left
#     as the finished local one's, and the request timed out: ct_out_of_window on b, SYN-ACKs
#     missing on a). In the other rows this happens only when the two port sequences cross (a
#     few seconds in some runs); here the client's ephemeral range is narrowed to 2,000 ports
#     so that it happens all the time. A live connection on the tuple is a real collision:
#     refused (an RST, counted), rare at this load.
fault_tuple_reuse() {
  TITLE="client ports reused across nodes (client's ephemeral range ${REUSE_PORTS/ /-})"
  local saved
  saved=$(inns client sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
  inns client sysctl -qw net.ipv4.ip_local_port_range="$REUSE_PORTS"
  window_start tuple-reuse
  fault_start
  sleep "$REUSE_S"
  fault_end
  window_end
  inns client sysctl -qw net.ipv4.ip_local_port_range="$saved"
}

# 1. Hostile bodies on the peer port and the API port of node a, from the client namespace
#    (the API from inside node a when it only listens on loopback).
fault_bodies() {
  TITLE="gzip bomb / chunked / oversized bodies, peer and API ports"
  local bomb="$OUT/.bomb.gz"
  window_start bodies
  fault_start
  local port path from host
  read -r from host <<<"$(api_attack_point)"
  [[ $from == a ]] && note "the API does not answer on $IP_A from the client (loopback only): its bodies are sent from inside node a to 127.0.0.1:9080"
  for port in 30090 9080; do
    if [[ $port == 30090 ]]; then
      path=/v1/peer/message from=client host=$IP_A
    else
      path=/v1/policies/figlet
      read -r from host <<<"$(api_attack_point)"
    fi
    inns "$from" "$PY" "$LIB/fault_http.py" body --host "$host" --port "$port" --path "$path" \
      --method "$([[ $port == 9080 ]] && echo PUT || echo POST)" --kind gzip,chunked,oversized \
      --gzip-file "$bomb" --bytes "$BODY_BYTES" --timeout 8 >>"$DIR/bodies.jsonl" || true
  done
  fault_end
  note "bomb $(($(stat -c %s "$bomb") >> 10)) KiB inflating to 200 MiB; chunked/oversized bodies up to $((BODY_BYTES >> 20)) MiB"
  note "answers: $("$PY" -c '
import json, sys
print("; ".join("%s %s: %s after %d KiB sent" % (d["port"], d["kind"], d["outcome"], d["sent"] >> 10)
                for d in map(json.loads, open(sys.argv[1]))))' "$DIR/bodies.jsonl" 2>/dev/null)"
  window_end
}

# 2. Slow-loris: 64 connections each on the API and the peer port, one header byte a second,
#    while the health endpoints are probed twice a second from inside node a.
fault_slowloris() {
  TITLE="slow-loris, 64 connections each on API and peer ports"
  local health=9080
  if inns a curl -s -o /dev/null --max-time 1 http://127.0.0.1:9081/healthz; then health=9081; fi
  window_start slowloris
  fault_start
  local port pids=() from host api_from api_host
  read -r api_from api_host <<<"$(api_attack_point)"
  [[ $api_from == a ]] && note "the API does not answer on $IP_A from the client (loopback only): its slow connections come from inside node a"
  for port in 9080 30090; do
    if [[ $port == 9080 ]]; then from=$api_from host=$api_host; else from=client host=$IP_A; fi
    ip netns exec "$(nsname "$from")" "$PY" "$LIB/fault_http.py" slowloris --host "$host" --port "$port" \
      --connections 64 --duration "$LORIS_S" >"$DIR/loris-$port.json" &
    pids+=($!)
    BG_PIDS+=($!)
  done
  sleep 1.5  # the connections are open
  local probes=0 bad=0 url end=$((SECONDS + LORIS_S - 2))
  while ((SECONDS < end)); do
    for url in /healthz /readyz; do
      probes=$((probes + 1))
      inns a curl -s -o /dev/null --max-time 1 -f "http://127.0.0.1:$health$url" || bad=$((bad + 1))
    done
    sleep 0.5
  done
  wait "${pids[@]}" 2>/dev/null || true
  fault_end
  printf '{"failed": %d, "probes": %d, "health_port": %d}\n' "$bad" "$probes" "$health" >"$DIR/extra-health.json"
  note "health probes on port $health (liveness and readiness, 1 s timeout): $bad of $probes failed"
  for port in 9080 30090; do
    note "port $port: $(json_field "$DIR/loris-$port.json" '"%s opened, %s closed by the server (median held %s s), %s refused" % (d["opened"], d["closed_by_server"], d["median_held_s"], d["refused"])')"
  done
  window_end
}

# 3. 40 members: signed heartbeats from 40 source addresses (scripts/lib/fake_peers.py).
fault_members() {
  TITLE="40 members (signed heartbeats from 40 addresses)"
  local tool="$LIB/fake_peers.py"
  if [[ ! -f $tool ]]; then
    skip members "$TITLE" "scripts/lib/fake_peers.py is not there yet (another helper writes it)"
    return
  fi
  local i
  for i in $(seq 150 189); do echo "addr add $SUBNET.$i/24 dev eth0"; done | ip -n "$(nsname client)" -batch - ||
    true
  window_start members
  fault_start
  ip netns exec "$(nsname client)" timeout $((MEMBERS_S + 10)) "$PY" "$tool" --key-file "$RUN/cluster.key" \
    --target "$IP_A:30090" --sources "$SUBNET.150-189" --functions figlet:31001,shasum:31002 \
    --count "$MEMBERS_S" --interval 1 --period-ms $((PERIOD_S * 1000)) \
    >"$DIR/fake_peers.out" 2>&1 &
  local fp=$!
  BG_PIDS+=("$fp")
  local ready_bad=0 probes=0 end=$((SECONDS + MEMBERS_S))
  while ((SECONDS < end)); do
    probes=$((probes + 1))
    inns a curl -s -o /dev/null --max-time 1 -f http://127.0.0.1:9080/readyz || ready_bad=$((ready_bad + 1))
    sleep 0.5
  done
  local members
  members=$(api a /v1/peers | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "?")
  wait "$fp" 2>/dev/null || true
  fault_end
  printf '{"failed": %d, "probes": %d}\n' "$ready_bad" "$probes" >"$DIR/extra-readiness.json"
  note "node a lists $members peers during the fault; readiness probes failed: $ready_bad of $probes"
  note "fake_peers.py: $(tail -n 2 "$DIR/fake_peers.out" | tr '\n' ' ' | cut -c1-200)"
  window_end
  for i in $(seq 150 189); do echo "addr del $SUBNET.$i/24 dev eth0"; done |
    ip -n "$(nsname client)" -batch - 2>/dev/null || true
}

# Functions files for node a's simulator: the lab's own plus 297 more (ports 32000...).
many_functions_file() {
  local base=$1 out=$2
  "$PY" - "$base" "$out" <<'PY'
import sys, yaml
base = yaml.safe_load(open(sys.argv[1]))
fns = base["functions"]
for i in range(300 - len(fns)):
    fns.append({"name": f"fn{i:03d}", "behaviour": "echo", "sleep_ms": 1,
                "labels": {"dfaas.maxrate": "10", "dfaas.port": str(32000 + i)}})
yaml.safe_dump({"functions": fns}, open(sys.argv[2], "w"))
PY
}
# restart_faas_sim NODE [--functions FILE] [EXTRA ARGS]: the node's simulator again, with the
# lab's command line and these arguments added (a later --functions wins).
restart_faas_sim() {
  local node=$1
  shift
  stop_in "$node" dfaas-faas-sim
  start_saved "$node" "faas-$node" "$node-faas-sim-fault" "$@"
  wait_http_in "$node" "http://$SUBNET.${node_num[$node]}:8080/healthz" 10
}

# wait_ready_in NODE SECONDS: until the node's agent answers /readyz with 200 (a note if not).
wait_ready_in() {
  local node=$1 end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    inns "$node" curl -s -o /dev/null --max-time 1 -f http://127.0.0.1:9080/readyz && return 0
    sleep 0.2
  done
  note "node $node's agent was not ready within $2 s"
}

# 4. 300 functions deployed on node a (its simulator restarted with them before the window:
#    the load only sees what the agent does with them).
fault_functions() {
  TITLE="300 functions deployed"
  local file="$OUT/.functions-300.yaml" base
  base=$(tr '\0' '\n' <"$OUT/.cmd-faas-a" | grep -A1 -x -- --functions | tail -n1)
  many_functions_file "$base" "$file"
  restart_faas_sim a --functions "$file"
  # The restart itself makes node a honestly not ready for a gather ("openfaas: connection
  # refused"); the fault measures what 300 functions do, so start once a is ready again.
  wait_ready_in a 15
  window_start functions
  fault_start
  local ready_bad=0 probes=0 end=$((SECONDS + FUNCTIONS_S))
  while ((SECONDS < end)); do
    probes=$((probes + 1))
    inns a curl -s -o /dev/null --max-time 1 -f http://127.0.0.1:9080/readyz || ready_bad=$((ready_bad + 1))
    sleep 0.5
  done
  local known served
  known=$(api a /v1/functions | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d))' 2>/dev/null || echo "?")
  served=$(inns client curl -s -o /dev/null -w '%{http_code}' --max-time 2 -d x "http://$IP_A:32005/function/fn005" || true)
  fault_end
  printf '{"failed": %d, "probes": %d}\n' "$ready_bad" "$probes" >"$DIR/extra-readiness.json"
  note "node a's agent lists $known functions; fn005 on its port answers ${served:-nothing}; readiness probes failed: $ready_bad of $probes"
  window_end
  restart_faas_sim a
  wait_ready_in a 15
}

# 5. SIGKILL of node a's agent every 5 s; the suite restarts it with the lab's command line.
fault_sigkill() {
  TITLE="SIGKILL of agent a every 5 s for ${SIGKILL_S} s"
  window_start sigkill
  fault_start
  local kills=0 end=$((SECONDS + SIGKILL_S)) pid slow=0
  while ((SECONDS < end)); do
    pid=$(pid_in a dfaas-agent)
    if [[ -n $pid ]]; then kill -KILL "$pid"; kills=$((kills + 1)); fi
    local t=$SECONDS
    restart_agent a || slow=$((slow + 1))
    sleep $((5 - (SECONDS - t) > 0 ? 5 - (SECONDS - t) : 0))
  done
  fault_end
  KILLS="a=$kills"
  note "$kills kills; the agent was restarted at once each time$( ((slow == 0)) || echo " ($slow restarts not healthy within 20 s)")"
  window_end
}

# 6. Upgrade of the BPF programs under load: dfaasctl dp attach over the existing pins, with
#    the settings the agent attached with.
fault_upgrade() {
  TITLE="BPF programs re-attached under load (dfaasctl dp attach) x$UPGRADES"
  local gw
  gw=$(ctl a -o json dp status 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
s = d.get("settings", d)
print(s.get("gateway", ""))' 2>/dev/null || true)
  [[ $gw == *:* ]] || gw="$IP_A:8080"
  window_start upgrade
  fault_start
  local i ok=0 err=""
  for ((i = 0; i < UPGRADES; i++)); do
    if ctl a dp attach --iface eth0 --node-ip "$IP_A" --gateway "$gw" >"$DIR/attach-$i.out" 2>&1; then
      ok=$((ok + 1))
    else
      err=$(tail -n1 "$DIR/attach-$i.out")
    fi
    sleep 1
  done
  fault_end
  note "$ok of $UPGRADES re-attaches succeeded (gateway $gw)${err:+; last error: $err}"
  window_end
}

# kill_agent_b: SIGKILL of node b's agent (counted in KILLS).
kill_agent_b() {
  local victim
  victim=$(pid_in b dfaas-agent)
  if [[ -n $victim ]]; then kill -KILL "$victim"; KILLS="b=1"; else note "no agent running on b"; fi
}
# watch_forwarding_to_b BEFORE: polls a's forwarded-to-b counter until GONE_S after T0; sets
# FORWARDED_LAST (the counter's last value) and STOP_AFTER (seconds from T0 to its last rise).
watch_forwarding_to_b() {
  local last=$1 last_change=$T0 t
  while "$PY" -c "import sys; sys.exit(0 if $(now) - $T0 < $GONE_S else 1)"; do
    t=$(forwarded_to_b)
    if ((t > last)); then last=$t last_change=$(now); fi
    sleep 0.2
  done
  FORWARDED_LAST=$last
  STOP_AFTER=$("$PY" -c "print(f'{max(0.0, $last_change - $T0):.1f}')")
}
# rejoin_b: after b's agent is back, waits until a sees b alive and forwarding works again.
rejoin_b() {
  local t=$SECONDS
  wait_until 30 peer_alive a node-b || note "b not alive again at a 30 s after its restart"
  note "b alive again at a $((SECONDS - t)) s after its agent restarted"
  settle "b was alive again at a"
}

# 7. Node b's agent killed (SIGKILL) for GONE_S seconds, then restarted: a stops forwarding to b
#    within the failure-detection bound (peer TTL = 1.2 x period for Recalc, plus a tick), and
#    nothing fails once b is back.
fault_peer_killed() {
  TITLE="peer's agent killed (node b)"
  window_start peer-killed
  local before last stop_after bound
  bound=$("$PY" -c "print(1.2 * $PERIOD_S + 1)")
  before=$(forwarded_to_b)
  fault_start
  kill_agent_b
  watch_forwarding_to_b "$before"
  stop_after=$STOP_AFTER last=$FORWARDED_LAST
  # b's agent comes back (the lab's command line) within the window: what follows is rejoin.
  restart_agent b || note "b's agent not healthy 20 s after its restart"
  fault_end
  rejoin_b
  local verdict=ok
  "$PY" -c "import sys; sys.exit(0 if $stop_after <= $bound else 1)" || verdict=late
  printf '{"problems": %s}\n' "$([[ $verdict == ok ]] && echo '[]' || echo "[\"forwarding to b went on for $stop_after s > bound $bound s\"]")" >"$DIR/extra-detection.json"
  note "forwarding to b stopped $stop_after s after its agent died (bound ${bound} s: peer TTL 1.2 x ${PERIOD_S} s + 1 s); forwarded connections $before -> $last"
  window_end --node-gone --recovery-from start
}

# 7b. Node b's agent and gateway killed together for GONE_S seconds (experiment T4 in small):
#     b's programs and maps stay, so b's data plane still takes a's forwarded connections and
#     steers them to a gateway that is gone; each is answered by a RST at once. Forwarded SYNs
#     are answered, so silence never shows it: a's failure detector flags a peer that answers
#     every forwarded SYN with a RST (3 since its last SYN-ACK). Stream b is exempt (its node's
#     own gateway is down); stream a's new connections must recover within the node-gone bound.
fault_node_down() {
  TITLE="peer's agent and gateway killed (node b)"
  window_start node-down
  local before
  before=$(forwarded_to_b)
  fault_start
  kill_agent_b
  stop_in b dfaas-faas-sim KILL
  watch_forwarding_to_b "$before"
  local stop_after=$STOP_AFTER last=$FORWARDED_LAST
  start_saved b faas-b b-faas-sim-fault
  wait_http_in b "http://$IP_B:8080/healthz" 10 || note "b's faas-sim not back within 10 s"
  restart_agent b || note "b's agent not healthy 20 s after its restart"
  fault_end
  rejoin_b
  note "forwarding to b stopped $stop_after s after b's agent and gateway died (a's detector: RSTs only); forwarded connections $before -> $last; stream b is exempt (b's own gateway was down)"
  window_end --node-gone --recovery-from start --exempt-stream b
}

# 8. Node b partitioned from the other nodes (the client still reaches b), then healed: nft in
#    b's namespace drops everything from and to them; and because b's TC ingress program sees a
#    packet before any netfilter hook in b (it would still serve connections a forwards), the
#    same cut is made on the wire too, by an nft bridge rule between a's and b's ports in the
#    lab's switch namespace. Both are removed at the heal.
fault_partition() {
  TITLE="peer partitioned (nft drop in node b) and healed"
  if ! command -v nft >/dev/null; then
    skip partition "$TITLE" "nft missing (scripts/setup.sh --profile test installs nftables)"
    return
  fi
  window_start partition
  fault_start
  inns b nft -f - <<NFT || note "nft in node b failed: the partition is not complete"
table inet fault_partition {
  chain pre {
    type filter hook prerouting priority -400; policy accept;
    iifname "eth0" ip saddr != $IP_CLIENT drop
  }
  chain out {
    type filter hook output priority -400; policy accept;
    oifname "eth0" ip daddr != $IP_CLIENT drop
  }
}
table netdev fault_partition_dev {
  chain in {
    type filter hook ingress device "eth0" priority -500; policy accept;
    ip saddr != $IP_CLIENT drop
  }
}
NFT
  inns sw nft -f - <<NFT || note "nft in the switch failed: the partition is not complete"
table bridge fault_partition {
  chain cut {
    type filter hook forward priority -200; policy accept;
    iifname "v-$DFAAS_LAB_ID-1" oifname "v-$DFAAS_LAB_ID-2" drop
    iifname "v-$DFAAS_LAB_ID-2" oifname "v-$DFAAS_LAB_ID-1" drop
  }
}
NFT
  sleep "$GONE_S"
  inns b nft delete table inet fault_partition || true
  inns b nft delete table netdev fault_partition_dev || true
  inns sw nft delete table bridge fault_partition || true
  fault_end
  local back=0 t=$SECONDS
  wait_until 30 peer_alive a node-b && back=1
  note "partition held ${GONE_S} s; b alive again at a $((SECONDS - t)) s after the heal$([[ $back == 1 ]] || echo ' (NOT within 30 s)')"
  settle "b was alive again at a"
  window_end --node-gone --recovery-from start
}

# 9a. Prometheus of node a down, then a server answering garbage on its port.
fault_prometheus() {
  TITLE="Prometheus down, then answering garbage"
  window_start prometheus
  fault_start
  stop_in a prometheus
  sleep $((GARBAGE_S / 2))
  ip netns exec "$(nsname a)" "$PY" "$LIB/fault_http.py" junk-server --listen 127.0.0.1:9090 2>"$DIR/junk.log" &
  local junk=$!
  BG_PIDS+=("$junk")
  sleep $((GARBAGE_S - GARBAGE_S / 2))
  local ready
  ready=$(api a /readyz | tr -d '\n' | cut -c1-160)
  kill "$junk" 2>/dev/null; wait "$junk" 2>/dev/null || true
  start_saved a prom-a a-prometheus-fault
  wait_http_in a http://127.0.0.1:9090/-/ready 20 || note "prometheus not back within 20 s"
  fault_end
  note "down ${GARBAGE_S}/2 s then garbage; node a's readiness at the end: $ready"
  window_end
}

# 9b. The OpenFaaS gateway (faas-sim) of node a down, then answering garbage. Requests node a
#     serves locally cannot succeed while its gateway is gone: stream a is exempt from the
#     target; stream b (node b, local) must not notice, and the agent must survive.
fault_openfaas() {
  TITLE="OpenFaaS (faas-sim) down, then answering garbage"
  window_start openfaas
  fault_start
  stop_in a dfaas-faas-sim
  sleep $((GARBAGE_S / 2))
  ip netns exec "$(nsname a)" "$PY" "$LIB/fault_http.py" junk-server --listen "0.0.0.0:8080" 2>"$DIR/junk.log" &
  local junk=$!
  BG_PIDS+=("$junk")
  sleep $((GARBAGE_S - GARBAGE_S / 2))
  kill "$junk" 2>/dev/null; wait "$junk" 2>/dev/null || true
  start_saved a faas-a a-faas-sim-fault
  wait_http_in a "http://$IP_A:8080/healthz" 10 || note "faas-sim not back within 10 s"
  fault_end
  local known
  known=$(api a /v1/functions | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "?")
  note "stream a is exempt (its local half needs the gateway that is down); node a lists $known functions after it"
  window_end --exempt-stream a
}

# 10. SYN flood from spoofed sources to a function port of node a while 1,000 established
#     keep-alive connections run through the same port. For this fault node a's gateway is a
#     one-thread stand-in (fault_http.py gateway) instead of the simulator, which serves a
#     connection per thread: 1,000 simulator threads under a flood stalled this 2-core VM. The
#     agent meanwhile gets "ok" for its OpenFaaS calls (an answer it cannot parse: it keeps the
#     functions it knows, see fault 11).
fault_synflood() {
  TITLE="SYN flood ${FLOOD_RATE}/s, spoofed, + ${FLOOD_CONNS} keep-alive connections"
  stop_in a dfaas-faas-sim
  ip netns exec "$(nsname a)" "$PY" "$LIB/fault_http.py" gateway --listen 0.0.0.0:8080 --node node-a \
    2>"$OUT/.gateway-a.log" &
  local gw=$!
  BG_PIDS+=("$gw")
  wait_http_in a "http://$IP_A:8080/healthz" 10 || log "the stand-in gateway does not answer"
  window_start synflood
  note "node a's gateway is the one-thread stand-in during this fault (see the script)"
  # The established connections stay on node a: what is measured is a's conntrack, not b's.
  ctl a policy set shasum --local 100 >/dev/null 2>&1 || note "cannot pin shasum local on node a"
  local ready="$DIR/keepalive.ready"
  ip netns exec "$(nsname client)" "$PY" "$LIB/fault_http.py" keepalive --host "$IP_A" --port 31002 \
    --path /function/shasum --connections "$FLOOD_CONNS" --interval "$KA_INTERVAL" \
    --duration $((FLOOD_S + KA_INTERVAL + 30)) --ready-file "$ready" >"$DIR/extra-keepalive.json" &
  local ka=$!
  BG_PIDS+=("$ka")
  local deadline=$((SECONDS + 15))
  until [[ -s $ready ]] || ((SECONDS > deadline)); do sleep 0.2; done
  note "established keep-alive connections before the flood: $(cat "$ready" 2>/dev/null || echo '?')"
  fault_start
  inns client "$PY" "$LIB/fault_synflood.py" --target "$IP_A" --port 31002 --rate "$FLOOD_RATE" \
    --duration "$FLOOD_S" >"$DIR/flood.json" || true
  fault_end
  note "flood: $(json_field "$DIR/flood.json" '"%s SYNs in %s s (%s/s achieved%s)" % (d["sent"], d["seconds"], d["achieved_rate"], "" if d["achieved_rate"] >= 0.9 * d["asked_rate"] else ": the machine could not send at the asked rate")')"
  # The keep-alive connections run on until each has sent a request after the flood.
  sleep $((KA_INTERVAL + 1))
  kill -TERM "$ka" 2>/dev/null || true
  wait "$ka" 2>/dev/null || true
  note "keep-alive: $(json_field "$DIR/extra-keepalive.json" '"%s ok, %s failed, %s reset, %s closed, %s HTTP errors %s, %s connections opened" % (d["ok"], d["failed"], d["reset"], d["closed"], d["http_error"], d["codes"], d["opened"])')"
  window_end
  kill "$gw" 2>/dev/null || true
  wait "$gw" 2>/dev/null || true
  start_saved a faas-a a-faas-sim-fault
  wait_http_in a "http://$IP_A:8080/healthz" 10 || log "faas-sim of node a not back within 10 s"
}

# set_gateway_fault NODE FUNCTION STATUS: the node's simulator answers STATUS to every request
# of FUNCTION (0: as before); prints the HTTP code of the simulator's answer (200 when set).
set_gateway_fault() {
  inns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
    -H 'Content-Type: application/json' -d "{\"status\": $3}" \
    "http://127.0.0.1:8080/system/fault/$2" || true
}
# strategy_forwards_to_b: node a's installed figlet policy is the strategy's and gives b weight.
strategy_forwards_to_b() {
  api a /v1/policies | "$PY" -c "
import json, sys
p = json.load(sys.stdin).get('figlet', {})
sys.exit(0 if p.get('source') == 'strategy' and p.get('peers', {}).get('$IP_B', 0) > 0 else 1)"
}
# restart_agents_with VAR=VALUE...: both agents stopped (SIGTERM: their data planes keep
# forwarding) and started again with the lab's command lines and these variables.
restart_agents_with() {
  local node
  for node in a b; do stop_in "$node" dfaas-agent; done
  START_ENV=("$@")
  for node in a b; do
    AGENT_RUNS=$((AGENT_RUNS + 1))
    start_saved "$node" "agent-$node" "$node-agent-fault-$AGENT_RUNS"
  done
  START_ENV=()
  for node in a b; do
    wait_http_in "$node" "http://127.0.0.1:9080/healthz" 20 || log "agent of node $node not healthy 20 s after its restart"
  done
}
# guard_figures SAMPLES EVENTS BEFORE PRE OUT: the peer-503 row's figures, as one JSON object
# in OUT. From node a's event log (EVENTS, /v1/events since the fault: every policy it installed,
# with the agent's wall-clock instant): stop_after_s, from T0 to the first install that left b
# no weight for figlet (from then on a's data plane sends b no new connection; null: never
# within the fault), and b_weight_s, how long b had weight during the fault (should a strategy
# step give it back while b still fails, the guard has to take it again). From a's forwarded-to-b
# counter (SAMPLES: "epoch counter" lines, BEFORE at T0, PRE forwarded in the window before
# the fault): the connections forwarded to b during the fault and after the first stop.
guard_figures() {
  "$PY" - "$@" "$T0" "$T1" "$IP_B" <<'PY'
import json, sys
samples_path, events_path, before, pre, out, t0, t1, peer = sys.argv[1:9]
before, pre, t0, t1 = int(before), int(pre), float(t0), float(t1)
BOUND_S = 2.5  # 2 control ticks of 1 s + detection

def peer_weight(summary):  # "local=60 10.77.0.2=40 overflow ..." -> 40
    for token in summary.split()[1:]:
        if "=" not in token:
            break  # "overflow": the weights after it are not the policy's routes
        name, value = token.split("=", 1)
        if name == peer:
            return int(value)
    return 0

try:
    events = json.load(open(events_path))["events"]
except (OSError, ValueError, KeyError, TypeError):
    events = None
changes = [(e["unix_ms"] / 1000, peer_weight(e["detail"].split(" -> ")[-1]))
           for e in events or [] if e.get("type") == "policy" and e.get("function") == "figlet"]
stop, weighted_s, since, weight = None, 0.0, t0, 1  # b has weight at T0 (checked: pre > 0)
for t, w in changes:
    if t < t0 or t > t1:
        continue
    if weight > 0:
        weighted_s += t - since
    if w == 0 and stop is None:
        stop = t - t0
    since, weight = t, w
if weight > 0:
    weighted_s += t1 - since
samples = [tuple(map(float, line.split())) for line in open(samples_path) if line.strip()]
last = int(samples[-1][1]) if samples else before
after_stop = [c for t, c in samples if stop is not None and t >= t0 + stop]
figures = {"stop_after_s": None if stop is None else round(stop, 2), "bound_s": BOUND_S,
           "b_weight_s": round(weighted_s, 2), "fault_s": round(t1 - t0, 2),
           "policy_changes": len([c for c in changes if t0 <= c[0] <= t1]),
           "forwarded_before_fault": pre, "forwarded_during": last - before,
           "forwarded_after_first_stop": int(after_stop[-1] - after_stop[0]) if after_stop else None}
problems = []
if pre <= 0:
    problems.append("node a forwarded nothing to b before the fault: the row shows nothing")
if events is None:
    problems.append("no event log from node a")
if stop is None:
    problems.append(f"node a never took b's weight away during the fault "
                    f"({figures['forwarded_during']} connections forwarded to b)")
elif stop >= BOUND_S:
    problems.append(f"node a took b's weight away {stop:.2f} s after the first 503 (>= {BOUND_S} s)")
figures["problems"] = problems
figures["summary"] = (
    (f"node a took b's weight for figlet away {stop:.2f} s after b's first 503" if stop is not None
     else "node a never took b's weight for figlet away")
    + f" (bound {BOUND_S} s: 2 ticks + detection); b had weight {weighted_s:.1f} s of the "
    f"{t1 - t0:.1f} s fault ({figures['policy_changes']} policy changes"
    + (": a strategy step gave it back, the guard took it again"
       if stop is not None and figures["policy_changes"] > 1 else "")
    + f"); connections forwarded to b: {figures['forwarded_during']} during the fault"
    + (f", {figures['forwarded_after_first_stop']} after the first stop" if stop is not None else ""))
json.dump(figures, open(out, "w"))
print("null" if stop is None else f"{stop:.2f}")
PY
}

# 11. Node b's gateway answers 503 to figlet (the function stream a's forwarded half reaches b
#     with) for ERRORS_S seconds, then recovers; b's data plane and agent keep running, so only
#     the answers tell. Node a must stop forwarding new figlet connections to b within 2.5 s of
#     the first 503 (the agent's feedback guard: error ratio > 0.5 with >= 5 answers for 2
#     control ticks of 1 s, plus the detection). The guard adjusts the strategy's policies only
#     (an operator's override is installed as given), so both agents run the Static strategy
#     for this fault (a forwards 40 % of figlet to b) instead of the suite's override. Stream b
#     (b's own users, the same function) is exempt; stream a's 503s until a stops forwarding are
#     the detection's cost (counted, not a miss). Measured from node a's event log (the instant
#     each policy was installed: the first one without b's weight stops new connections to b),
#     with a's data-plane counter of connections forwarded to b as evidence.
fault_peer_503() {
  TITLE="peer's gateway answers 503 (node b's figlet)"
  # DFAAS_FAULTS_PEER503_ENV: more VAR=VALUE words for both agents during this fault, e.g.
  # DFAAS_STRATEGY_GUARD_ENABLED=false for the figure without the feedback guard.
  local -a extra_env
  read -r -a extra_env <<<"${DFAAS_FAULTS_PEER503_ENV:-}"
  restart_agents_with DFAAS_STRATEGY_NAME=static "${extra_env[@]}"
  FORWARD_BY=strategy
  ctl a policy clear figlet >/dev/null 2>&1 || true
  local t=$SECONDS
  wait_until 20 strategy_forwards_to_b || log "peer-503: node a's Static policy does not forward figlet to b after 20 s"
  local ready_s=$((SECONDS - t)) window_before
  window_before=$(forwarded_to_b)
  window_start peer-503
  [[ ${#extra_env[@]} -eq 0 ]] || note "agents' extra environment for this fault: ${extra_env[*]}"
  note "both agents on the Static strategy for this fault; a's policy forwarded figlet to b $ready_s s after their restart: $(api a /v1/policies | "$PY" -c 'import json,sys; p=json.load(sys.stdin).get("figlet",{}); print("local %s, peers %s, source %s" % (p.get("local"), p.get("peers"), p.get("source")))' 2>/dev/null)"
  local before answer samples="$DIR/forwarded-to-b.txt" seq0
  seq0=$(api a '/v1/events?limit=0' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["last_seq"])' 2>/dev/null || echo 0)
  before=$(forwarded_to_b)
  fault_start
  answer=$(set_gateway_fault b figlet 503)
  [[ $answer == 200 ]] || note "b's simulator did not take the fault (HTTP $answer): the row means nothing"
  : >"$samples"
  while "$PY" -c "import sys; sys.exit(0 if $(now) - $T0 < $ERRORS_S else 1)"; do
    echo "$(now) $(forwarded_to_b)" >>"$samples"
    sleep 0.1
  done
  answer=$(set_gateway_fault b figlet 0)
  fault_end
  [[ $answer == 200 ]] || note "b's simulator did not clear the fault (HTTP $answer)"
  api a "/v1/events?since=$seq0" >"$DIR/events-a.json" || true
  # Evidence only (not a target): b, healthy again, gets its weight back.
  local back_t=$EPOCHREALTIME
  if wait_until 10 strategy_forwards_to_b; then
    note "b had figlet weight at node a again $("$PY" -c "print(f'{$EPOCHREALTIME - $back_t:.1f}')") s after the fault ended"
  else
    note "b had no figlet weight at node a 10 s after the fault ended"
  fi
  local stop_after
  stop_after=$(guard_figures "$samples" "$DIR/events-a.json" "$before" "$((before - window_before))" \
    "$DIR/extra-detection.json")
  note "$(json_field "$DIR/extra-detection.json" 'd["summary"]')"
  window_end --node-gone --recovery-from start --exempt-stream b --recovery-bound 2.5 \
    --measured-recovery "$stop_after" --stream-notes
}

# ---- main -------------------------------------------------------------------------------------------
# The gzip bomb of fault 1: 200 MiB of zeros, about 200 KiB compressed.
head -c 200M /dev/zero | gzip >"$OUT/.bomb.gz"
log "lab $DFAAS_LAB_ID: up with $NODES nodes, period $PERIOD (results: $OUT)"
started=$SECONDS
if ! "$LAB" up --nodes "$NODES" --period "$PERIOD" --scrape 1s >"$OUT/lab-up.log" 2>&1; then
  cat "$OUT/lab-up.log" >&2
  exit 1
fi
# A run killed with SIGKILL cannot tear its lab down: scripts/lib/reap_stale.sh removes runs
# whose owner is gone.
echo $$ >"$RUN/owner.pid"
NODES_USED=(a b)
declare -A node_num=([a]=1 [b]=2)
WATCH_ARGS=()
for n in "${NODES_USED[@]}"; do
  WATCH_ARGS+=("$n=$(nsname "$n")")
  save_cmdline "$n" dfaas-agent "agent-$n"
  save_cmdline "$n" dfaas-faas-sim "faas-$n"
  save_cmdline "$n" prometheus "prom-$n"
done
wait_until 30 peer_alive a node-b || { log "node a does not see node b alive after 30 s"; exit 1; }

for f in "${ALL_FAULTS[@]}"; do
  if [[ -n $ONLY && ",$ONLY," != *",$f,"* ]]; then continue; fi
  log "---- $f"
  "fault_${f//-/_}"
done
ensure_agents

log "done in $((SECONDS - started)) s"
echo
"$PY" "$LIB/fault_report.py" table --rows "$ROWS" --out "$OUT" && rc=0 || rc=$?
echo "results: $OUT/faults.md, $OUT/faults.json"
exit "$rc"
