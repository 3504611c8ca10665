#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, in one run (root; network namespaces it makes and
# removes itself). Topology: a client, node A and node B on one bridge (scripts/lib/netns.sh),
# dfaas-faas-sim as each node's gateway (an echo function, unlimited capacity).
#
# Scenarios, measured back to back in the same namespaces, in rounds whose order alternates
# (odd rounds forward, even rounds reversed), each in keep-alive and one-request-per-connection
# mode, with wrk (closed loop: capacity) and dfaas-loadgen (open loop at a fixed rate: latency):
#   direct    client -> B's gateway
#   route     client -> B's gateway, routed through A without NAT (host routes on client and B,
#             ip_forward on A, ICMP redirects off): one forwarding hop done by the kernel
#   fwd       client -> A's function port, dfaas policy 100 % to B (IP-in-IP, replies via A)
#   gwa       client -> A's gateway
#   local     client -> A's function port, dfaas policy local (DNAT to A's gateway)
#   knat      client -> A, iptables DNAT + MASQUERADE to B's gateway
#   hapref    client -> HAProxy on A as the reference DFaaS configures it, forwarding to B
#   haptuned  client -> HAProxy on A tuned for speed (keep-alive and reuse towards B)
# Not in the default list (name them with --scenarios): fwdnh and localnh, fwd and local with the
# data plane's HTTP response and latency recording off (dfaasctl dp attach --no-http-stats): its
# cost, side by side with fwd and local; entfwd and entlocal, the entry URL (issue 18):
# client -> A:30080/function/echo, the agents' entry ports (A routes to B's entry, which serves
# it as forwarded-in, or to A's gateway), spliced in the kernel; the agents run only for these
# (peer protocol on, static strategy, the policy an operator override). After each such
# scenario's measurements, the userspace CPU of A's agent (and B's) per 10,000 keep-alive
# requests goes to DIR/entry-cpu.tsv.
# The data plane is attached (on A and B) only for fwd and local, HAProxy runs only for its
# scenarios and the NAT rules exist only for knat, so every baseline is the machine's own.
# Then: BPF ns/packet (dfaas-bench-bpf), policy-update cost and policy churn under load (dfaas
# through the control library vs HAProxy reloaded every 100 ms), and the summary with ratios
# and PASS/MISS per target.
#
# Usage: scripts/bench.sh [--quick | --smoke] [options]
#   (default)    5 rounds, 10 s per measurement, churn 30 s per mode (about 35 minutes)
#   --quick      2 rounds, 3 s per measurement, churn 10 s (about 5 minutes)
#   --smoke      1 round, 1 s per measurement, churn 3 s, tiny BPF run; asserts that every
#                scenario served requests without failures (the ctest e2e.bench_smoke)
#   --rounds N, --duration S     override the profile
#   --scenarios "LIST"           only these scenarios (names above)
#   --no-bpf, --no-churn, --no-policy-cost, --no-agent-cost   skip a part
#   --tcp-timestamps N           net.ipv4.tcp_timestamps in the namespaces (default 2, see
#                setup_topology; 1, the kernel default, shows the TIME_WAIT artefact)
#   --perf       also profile route and fwd with `perf record -a -g` (an extra pass, not in
#                the figures; reports in the results directory)
#   --out DIR    results directory (default results/bench-<timestamp>/, git-ignored)
#   --report [RUN]  measure nothing: (re)draw the plots of a finished run. RUN is a run
#                directory (its measurements.tsv and raw/bpf.json give RUN/results.csv again)
#                or a results CSV (docs/data/); default the newest results/bench-*. The plots
#                go to --out DIR if given, else next to RUN. Needs gnuplot, not root.
# Outputs: DIR/summary.md (also printed), DIR/measurements.tsv, DIR/churn.tsv, DIR/raw/*,
#   DIR/results.csv (medians and min-max of every figure, scripts/lib/bench_report.sh) and its
#   plots DIR/bench-throughput.png, DIR/bench-latency.png, DIR/bench-bpf.png.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() {
  echo "bench: $*" >&2
  exit 2
}

PROFILE=full ROUNDS="" DURATION="" OUT="" ONLY="" DO_BPF=1 DO_CHURN=1 DO_COST=1 DO_AGENT=1 DO_PERF=0 TCP_TS=2
REPORT=0 REPORT_IN=""
while (($#)); do
  case $1 in
    --quick) PROFILE=quick ;;
    --smoke) PROFILE=smoke ;;
    --rounds) ROUNDS=${2:?--rounds needs a number} && shift ;;
    --duration) DURATION=${2:?--duration needs seconds} && shift ;;
    --scenarios) ONLY=${2:?--scenarios needs a list} && shift ;;
    --no-bpf) DO_BPF=0 ;;
    --no-churn) DO_CHURN=0 ;;
    --no-policy-cost) DO_COST=0 ;;
    --no-agent-cost) DO_AGENT=0 ;;
    --perf) DO_PERF=1 ;;
    --tcp-timestamps) TCP_TS=${2:?--tcp-timestamps needs 0, 1 or 2} && shift ;;
    --out) OUT=${2:?--out needs a directory} && shift ;;
    --report)
      REPORT=1
      if [[ -n ${2:-} && ${2:-} != -* ]]; then REPORT_IN=$2 && shift; fi
      ;;
    -h | --help) usage && exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

# shellcheck source=scripts/lib/bench_report.sh
source "$ROOT/scripts/lib/bench_report.sh"

# --report: the plots of a finished run, nothing measured.
if ((REPORT)); then
  if [[ -z $REPORT_IN ]]; then
    REPORT_IN=$(find "$ROOT/results" -maxdepth 1 -type d -name 'bench-*' 2>/dev/null | sort | tail -1 || true)
    [[ -n $REPORT_IN ]] || die "--report: no run under $ROOT/results/ (give a run directory or a results CSV)"
  fi
  [[ -e $REPORT_IN ]] || die "--report: '$REPORT_IN' does not exist"
  if [[ -d $REPORT_IN ]]; then
    if [[ -s $REPORT_IN/measurements.tsv ]]; then
      results_csv "$REPORT_IN/measurements.tsv" "$REPORT_IN/raw/bpf.json" "$REPORT_IN/raw/machine.txt" >"$REPORT_IN/results.csv.new" ||
        die "--report: cannot read $REPORT_IN/measurements.tsv"
      mv "$REPORT_IN/results.csv.new" "$REPORT_IN/results.csv"
    fi
    [[ -s $REPORT_IN/results.csv ]] || die "--report: $REPORT_IN has neither measurements.tsv nor results.csv"
    CSV="$REPORT_IN/results.csv"
  else
    CSV=$REPORT_IN
  fi
  grep -q '^section,name,mode,metric,median,min,max,samples$' "$CSV" ||
    die "--report: $CSV is not a results CSV (no header section,name,mode,metric,median,min,max,samples)"
  rc=0
  bench_report "$CSV" "${OUT:-$(dirname "$CSV")}" || rc=$?
  ((rc == 0)) || die "--report: no plot drawn from $CSV"
  exit 0
fi

# Profiles. Rates of the open-loop runs are chosen so that every scenario, HAProxy included,
# serves them without queueing: they measure latency and CPU at equal load, not capacity.
case $PROFILE in
  full) R=5 D=10 CHURN_S=30 BPF_REPS=5 BPF_MIN=0.1 BPF_FILTER=. COST_SINGLE=20000
    COST_REPEAT=20 LG_KA=5000 LG_CLOSE=2000 CHURN_MODES="close ka" SETTLE=0.5 AGENT_NODES=11 AGENT_FUNCTIONS=100 AGENT_SECONDS=60 ;;
  quick) R=2 D=3 CHURN_S=10 BPF_REPS=1 BPF_MIN=0.05 BPF_FILTER=. COST_SINGLE=5000 COST_REPEAT=5
    LG_KA=5000 LG_CLOSE=2000 CHURN_MODES="close ka" SETTLE=0.5 AGENT_NODES=11 AGENT_FUNCTIONS=100 AGENT_SECONDS=30 ;;
  smoke) R=1 D=1 CHURN_S=3 BPF_REPS=1 BPF_MIN=0.01 COST_SINGLE=200 COST_REPEAT=2
    BPF_FILTER='BM_Harness_Noop|BM_Established_Forward|BM_Syn_Forward'
    LG_KA=1000 LG_CLOSE=500 CHURN_MODES="close" SETTLE=0.1 AGENT_NODES=3 AGENT_FUNCTIONS=10 AGENT_SECONDS=5 ;;
esac
ROUNDS=${ROUNDS:-$R} DURATION=${DURATION:-$D}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, got '$ROUNDS'"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "--duration must be whole seconds >= 1, got '$DURATION'"
[[ "$TCP_TS" =~ ^[012]$ ]] || die "--tcp-timestamps must be 0, 1 or 2, got '$TCP_TS'"
WRK_THREADS=2 WRK_CONNS=32 SIM_THREADS=512
ALL_SCENARIOS=(direct route fwd gwa local knat hapref haptuned)
EXTRA_SCENARIOS=(fwdnh localnh entfwd entlocal)
SCENARIOS=()
for s in ${ONLY:-${ALL_SCENARIOS[*]}}; do
  [[ " ${ALL_SCENARIOS[*]} ${EXTRA_SCENARIOS[*]} " == *" $s "* ]] ||
    die "unknown scenario '$s' (${ALL_SCENARIOS[*]} ${EXTRA_SCENARIOS[*]})"
  SCENARIOS+=("$s")
done

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, BPF)"
BIN="${DFAAS_BIN:-$ROOT/build/bin}"
for b in dfaasctl dfaas-faas-sim dfaas-loadgen dfaas-bench-bpf dfaas-bench-churn; do
  [[ -x "$BIN/$b" ]] || die "$BIN/$b is missing: build first (cmake -S . -B build && cmake --build build -j2)"
done
for t in wrk haproxy iptables curl perf; do
  [[ $t == perf && $DO_PERF -eq 0 ]] && continue
  command -v "$t" >/dev/null || die "'$t' is not installed (scripts/setup.sh --profile bench installs it)"
done

OUT=${OUT:-$ROOT/results/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd)
TSV="$OUT/measurements.tsv" CHURN_TSV="$OUT/churn.tsv"

export DFAAS_BIN="$BIN"
# shellcheck disable=SC2034 # read by netns.sh
E2E_ID="bn$$"
# shellcheck source=scripts/lib/netns.sh
source "$ROOT/scripts/lib/netns.sh"
# A lab the agent-cost part started goes too when the run stops early.
AGENT_LAB_ID=""
agent_lab_down() {
  if [[ -n $AGENT_LAB_ID ]]; then DFAAS_LAB_ID=$AGENT_LAB_ID "$ROOT/scripts/lab.sh" down >/dev/null 2>&1; fi
}
E2E_CLEANUP_HOOKS+=(agent_lab_down)
# shellcheck source=scripts/lib/bench_configs.sh
source "$ROOT/scripts/lib/bench_configs.sh"
# shellcheck source=scripts/lib/bench_stats.sh
source "$ROOT/scripts/lib/bench_stats.sh"

HZ=$(getconf CLK_TCK)
CLIENT=100 A=1 B=2
IP_A=$E2E_SUBNET.$A IP_B=$E2E_SUBNET.$B IP_CLIENT=$E2E_SUBNET.$CLIENT
# The routed scenario uses a second address on the client and on B, reached only through A.
RT_CLIENT=10.77.1.$CLIENT RT_B=10.77.1.$B
GW_PORT=8080 FWD_PORT=31000 LOCAL_PORT=31001 NAT_PORT=8082 HAP_REF_PORT=8090 HAP_TUNED_PORT=8091
HAP_CHURN_PORT=8092 ENTRY_PORT=30080
FN_PATH=/function/echo
NS_A=$(ns_of a) NS_B=$(ns_of b)

url_of() {
  case $1 in
    direct) echo "http://$IP_B:$GW_PORT$FN_PATH" ;;
    route) echo "http://$RT_B:$GW_PORT$FN_PATH" ;;
    fwd | fwdnh) echo "http://$IP_A:$FWD_PORT$FN_PATH" ;;
    gwa) echo "http://$IP_A:$GW_PORT$FN_PATH" ;;
    local | localnh) echo "http://$IP_A:$LOCAL_PORT$FN_PATH" ;;
    knat) echo "http://$IP_A:$NAT_PORT$FN_PATH" ;;
    hapref) echo "http://$IP_A:$HAP_REF_PORT$FN_PATH" ;;
    haptuned) echo "http://$IP_A:$HAP_TUNED_PORT$FN_PATH" ;;
    hapchurn) echo "http://$IP_A:$HAP_CHURN_PORT$FN_PATH" ;;
    entfwd | entlocal) echo "http://$IP_A:$ENTRY_PORT$FN_PATH" ;;
  esac
}

# ---- topology -----------------------------------------------------------------------------

setup_topology() {
  e2e_switch
  e2e_bpffs
  e2e_host client $CLIENT
  e2e_host a $A
  e2e_host b $B
  local n
  for n in client a b; do
    # ICMP redirects off: A forwards out of the interface it received on (the routed scenario).
    # tcp_timestamps=2 (timestamps without the per-address-pair random offset): the scenarios
    # reach B's gateway with overlapping client tuples through different paths (direct, via
    # dfaas, HAProxy or NAT from A's address), and TIME_WAIT sockets left by one scenario would
    # otherwise reject the next scenario's SYNs as old duplicates (different offsets), which is
    # an artefact of running the scenarios back to back, not a property of any of them.
    in_ns $n sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 \
      net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 \
      net.ipv4.tcp_timestamps="$TCP_TS" >/dev/null
  done
  # As on a Kubernetes node: the nodes forward (bpf_fib_lookup answers with it).
  in_ns a sysctl -qw net.ipv4.ip_forward=1 >/dev/null
  in_ns b sysctl -qw net.ipv4.ip_forward=1 >/dev/null
  in_ns client ip addr add "$RT_CLIENT/32" dev eth0
  in_ns b ip addr add "$RT_B/32" dev eth0
  in_ns client ip route add "$RT_B/32" via "$IP_A" src "$RT_CLIENT"
  in_ns b ip route add "$RT_CLIENT/32" via "$IP_A" src "$RT_B"
  in_ns a ip route add "$RT_B/32" via "$IP_B"
  in_ns a ip route add "$RT_CLIENT/32" via "$IP_CLIENT"

  bench_functions_file "$E2E_RUN/functions.yaml"
  bench_wrk_lua "$E2E_RUN/report.lua"
  for n in a b; do
    e2e_bg "faas-sim-$n" in_ns $n "$BIN/dfaas-faas-sim" --functions "$E2E_RUN/functions.yaml" \
      --listen "0.0.0.0:$GW_PORT" --node "node-$n" --threads $SIM_THREADS --backlog 4096 \
      --log-level warn
  done
  wait_http a "http://127.0.0.1:$GW_PORT/healthz"
  wait_http b "http://127.0.0.1:$GW_PORT/healthz"
}

# ---- scenario setup -----------------------------------------------------------------------

dp() {
  local node=$1
  shift
  in_ns "$node" "$BIN/dfaasctl" --bpffs "$E2E_RUN/bpf/$node" "$@"
}

# The data plane on A (function ports: 31000 forwards everything to B, 31001 serves locally)
# and on B (accepts what A forwards). Arguments go to both attaches (--no-http-stats).
dp_up() {
  dp a dp attach --iface eth0 --node-ip "$IP_A" --gateway "$IP_A:$GW_PORT" "$@" >/dev/null
  dp b dp attach --iface eth0 --node-ip "$IP_B" --gateway "$IP_B:$GW_PORT" "$@" >/dev/null
  dp a dp service add $FWD_PORT echo >/dev/null
  dp a dp service add $LOCAL_PORT echo-local >/dev/null
  dp a dp peer add "$IP_B" >/dev/null
  dp a dp policy set echo --local 0 --peer "$IP_B=100" >/dev/null
  dp a dp policy set echo-local --local 100 >/dev/null
  dp b dp peer add "$IP_A" >/dev/null
  # B serves echo itself (as every node a peer forwards a function to does): the data plane
  # accepts forwarded-in connections only for functions with a port of their own here.
  dp b dp service add $FWD_PORT echo >/dev/null
  dp b dp service add $FWD_PORT echo --addr "$IP_A" --peer-port >/dev/null
  # An explicit forwarded-in cap far above any rate here: without one the data plane's default
  # (dataplane.default_limit_in, 1,000 conn/s per function and peer) would refuse the rest.
  dp b dp policy set echo --local 100 --limit-in "$IP_A=1000000" >/dev/null
}

# dp_down TAG: keeps both nodes' counters (drop reasons, SYN retransmits) and detaches.
dp_down() {
  dp a -o json dp stats >"$OUT/raw/dpstats-$1-a.json" 2>&1 || true
  dp b -o json dp stats >"$OUT/raw/dpstats-$1-b.json" 2>&1 || true
  quiet dp a dp detach
  quiet dp b dp detach
}

# quiet CMD...: runs CMD, shows its output only when it fails.
quiet() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  ((rc == 0)) || printf '%s\n' "$out" >&2
  return $rc
}

forget_pid() {
  local i
  for i in "${!E2E_PIDS[@]}"; do [[ "${E2E_PIDS[i]}" == "$1" ]] && unset 'E2E_PIDS[i]'; done
  return 0
}

# wait_url URL: until the client gets a 200 through URL (10 s).
wait_url() {
  local deadline=$((SECONDS + 10))
  until [[ "$(in_ns client curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" == 200 ]]; do
    ((SECONDS < deadline)) || {
      log "timeout waiting for $1"
      return 1
    }
    sleep 0.1
  done
}

HAP_PID=""
# hap_start NAME CFG URL: HAProxy in master-worker mode on A (stdout, where the reference
# configuration logs every request, goes to /dev/null).
hap_start() {
  # A simple command in the background: its pid is haproxy's master (ip netns exec execs it).
  ip netns exec "$NS_A" haproxy -W -db -f "$2" >/dev/null 2>"$E2E_LOGS/haproxy-$1.log" &
  HAP_PID=$!
  E2E_PIDS+=("$HAP_PID")
  wait_url "$3"
}

hap_stop() {
  [[ -n "$HAP_PID" ]] || return 0
  kill -TERM "$HAP_PID" 2>/dev/null || true
  wait "$HAP_PID" 2>/dev/null || true
  forget_pid "$HAP_PID"
  HAP_PID=""
  # Workers of earlier reloads that outlived the master (none expected): report and stop them.
  local pid
  for pid in $(ip netns pids "$NS_A"); do
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == haproxy ]]; then
      log "haproxy process $pid outlived its master; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

knat_up() {
  in_ns a iptables -t nat -A PREROUTING -p tcp -d "$IP_A" --dport $NAT_PORT \
    -j DNAT --to-destination "$IP_B:$GW_PORT"
  in_ns a iptables -t nat -A POSTROUTING -p tcp -d "$IP_B" --dport $GW_PORT -j MASQUERADE
}

# Flushing and deleting the chains (iptables-nft drops empty built-in chains) unregisters the
# NAT hooks, so conntrack stops running for the other scenarios.
knat_down() {
  in_ns a iptables -t nat -F
  in_ns a iptables -t nat -X
}

# ---- the entry port (entfwd, entlocal): agents on A and B -------------------------------------

ENTRY_AGENT_PID=()
# entry_up SCENARIO: an agent on A and on B (peers of each other), A's policy for echo set by an
# override (100 % to B, or local), B serving echo locally.
entry_up() {
  local name num seed
  [[ -f "$E2E_RUN/cluster.key" ]] || { openssl rand -hex 32 >"$E2E_RUN/cluster.key" && chmod 600 "$E2E_RUN/cluster.key"; }
  for n in a:$A:$B b:$B:$A; do
    IFS=: read -r name num seed <<<"$n"
    cat >"$E2E_RUN/agent-$name.yaml" <<YAML
node: {ip: $E2E_SUBNET.$num, id: node-$name, id_file: $E2E_RUN/node-id-$name, state_file: $E2E_RUN/state-$name.json}
dataplane: {interface: eth0, bpffs: $E2E_RUN/bpf/$name}
strategy: {name: static, period: 30s}
openfaas: {url: "http://127.0.0.1:$GW_PORT", timeout: 1s}
peers: {cluster_key_file: $E2E_RUN/cluster.key, seeds: ["$E2E_SUBNET.$seed:30090"]}
entry: {port: $ENTRY_PORT}
YAML
    e2e_bg "agent-$name" in_ns "$name" "$BIN/dfaas-agent" --config "$E2E_RUN/agent-$name.yaml"
    ENTRY_AGENT_PID+=($!)
  done
  local deadline=$((SECONDS + 40))
  until in_ns a "$BIN/dfaasctl" peers 2>/dev/null | grep -q 'node-b.*alive' &&
    in_ns b "$BIN/dfaasctl" peers 2>/dev/null | grep -q 'node-a.*alive'; do
    ((SECONDS < deadline)) || die "entry: the agents did not become peers (logs in $E2E_LOGS)"
    sleep 0.5
  done
  in_ns b "$BIN/dfaasctl" policy set echo --local 100 >/dev/null
  local want=node-a
  if [[ $1 == entfwd ]]; then
    in_ns a "$BIN/dfaasctl" policy set echo --local 0 --peer node-b=100 >/dev/null
    want="node-b"
  else
    in_ns a "$BIN/dfaasctl" policy set echo --local 100 >/dev/null
  fi
  deadline=$((SECONDS + 20))
  until [[ "$(in_ns client curl -s -o /dev/null -w '%header{dfaas-node-id}' --max-time 1 "$(url_of "$1")")" == "$want" ]]; do
    ((SECONDS < deadline)) || die "entry: $1 is not served by $want"
    sleep 0.2
  done
}

# entry_down TAG: keeps both agents' entry counters (raw/entry-metrics-TAG-NODE.txt), stops them.
entry_down() {
  local pid node
  for node in a b; do
    in_ns "$node" curl -s --max-time 2 http://127.0.0.1:9080/metrics 2>/dev/null |
      grep '^dfaas_entry_' >"$OUT/raw/entry-metrics-$1-$node.txt" || true
    # The node's TCP counters (listen overflows, SYN retransmits, TIME_WAIT recycling).
    in_ns "$node" nstat -az >"$OUT/raw/entry-nstat-$1-$node.txt" 2>/dev/null || true
  done
  for pid in "${ENTRY_AGENT_PID[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
  ENTRY_AGENT_PID=()
  for node in a b; do
    cp "$E2E_LOGS/agent-$node.log" "$OUT/raw/agent-$1-$node.log" 2>/dev/null || true
    rm -f "$E2E_RUN/state-$node.json" # the next scenario starts without this one's override
  done
  # A stopped agent leaves the data plane attached (by design): detach it for the next scenario.
  quiet dp a dp detach
  quiet dp b dp detach
}

# agent_cpu NS: utime+stime (ticks) of the dfaas-agent in a namespace.
agent_cpu() { proc_cpu "$1" dfaas-agent; }

# entry_cpu ROUND SCENARIO: userspace CPU (utime+stime) of the agents per 10,000 keep-alive
# requests through the entry (wrk, one connection per wrk connection: steered once each).
entry_cpu() {
  local a0 b0 a1 b1 raw="$OUT/raw/r$1-$2-entrycpu.txt" requests
  a0=$(agent_cpu "$NS_A") b0=$(agent_cpu "$NS_B")
  in_ns client wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --timeout 5s \
    -s "$E2E_RUN/report.lua" "$(url_of "$2")" >"$raw" 2>&1 || true
  a1=$(agent_cpu "$NS_A") b1=$(agent_cpu "$NS_B")
  requests=$(parse_wrk "$raw" | cut -d' ' -f1)
  [[ -f "$OUT/entry-cpu.tsv" ]] ||
    printf 'round\tscenario\trequests\tagent_a_cpu_s\tagent_b_cpu_s\tagent_a_s_per_10k\tagent_b_s_per_10k\n' >"$OUT/entry-cpu.tsv"
  awk -v r="$1" -v s="$2" -v n="${requests:-0}" -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v hz="$HZ" 'BEGIN {
    per_a = n > 0 ? a / hz / n * 1e4 : 0; per_b = n > 0 ? b / hz / n * 1e4 : 0
    printf "%s\t%s\t%d\t%.2f\t%.2f\t%.4f\t%.4f\n", r, s, n, a / hz, b / hz, per_a, per_b }' >>"$OUT/entry-cpu.tsv"
  log "entry CPU $2 r$1: $(tail -n1 "$OUT/entry-cpu.tsv" | cut -f3-)"
}

scen_up() {
  case $1 in
    entfwd | entlocal) entry_up "$1" ;;
    fwd | local) dp_up ;;
    fwdnh | localnh) dp_up --no-http-stats ;;
    knat) knat_up ;;
    hapref)
      bench_haproxy_ref "$E2E_RUN/hap-ref.cfg" "$IP_A:$HAP_REF_PORT" "$IP_A" "$IP_A:$GW_PORT" \
        "$IP_B:$GW_PORT" 0 100
      hap_start ref "$E2E_RUN/hap-ref.cfg" "$(url_of hapref)"
      ;;
    haptuned)
      bench_haproxy_tuned "$E2E_RUN/hap-tuned.cfg" "$IP_A:$HAP_TUNED_PORT" "$IP_B:$GW_PORT"
      hap_start tuned "$E2E_RUN/hap-tuned.cfg" "$(url_of haptuned)"
      ;;
  esac
  wait_url "$(url_of "$1")"
}

scen_down() {
  case $1 in
    fwd | local | fwdnh | localnh) dp_down "$2-$1" ;;
    knat) knat_down ;;
    hapref | haptuned) hap_stop ;;
    entfwd | entlocal) entry_down "$2-$1" ;;
  esac
}

# ---- one measurement ----------------------------------------------------------------------

# lg_rate MODE: the open-loop rate of a mode.
lg_rate() { if [[ $1 == ka ]]; then echo "$LG_KA"; else echo "$LG_CLOSE"; fi; }

# children_cpu FILE: user+sys seconds of the children, from bash's `times` output.
children_cpu() {
  awk 'NR == 2 {
    s = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); s += p[1] * 60 + p[2] }
    printf "%.2f\n", s
  }' "$1"
}

# measure ROUND SCENARIO MODE TOOL: one run, one line in measurements.tsv.
measure() {
  local round=$1 scen=$2 mode=$3 tool=$4 url tag raw args=() parsed
  url=$(url_of "$scen")
  tag="r$round-$scen-$mode-$tool"
  raw="$OUT/raw/$tag"
  case $tool in
    wrk)
      args=(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --timeout 5s --latency
        -s "$E2E_RUN/report.lua")
      [[ $mode == close ]] && args+=(-H 'Connection: close')
      args+=("$url")
      ;;
    loadgen)
      args=("$BIN/dfaas-loadgen" --rate "$(lg_rate "$mode")"
        --duration "${DURATION}s" --target "$url" --timeout 5s --json --quiet --output "$raw.json")
      [[ $mode == ka ]] && args+=(--keepalive)
      ;;
  esac
  local b0 s0 b1 s1 h0 h1 v0 v1 rc=0
  read -r b0 s0 < <(cpu_stat)
  h0=$(proc_cpu "$NS_A" haproxy)
  v0=$(($(proc_cpu "$NS_A" dfaas-faas-sim) + $(proc_cpu "$NS_B" dfaas-faas-sim)))
  (
    rc=0
    in_ns client "${args[@]}" >"$raw.txt" 2>&1 || rc=$?
    times >"$raw.times"
    exit $rc
  ) || rc=$?
  read -r b1 s1 < <(cpu_stat)
  h1=$(proc_cpu "$NS_A" haproxy)
  v1=$(($(proc_cpu "$NS_A" dfaas-faas-sim) + $(proc_cpu "$NS_B" dfaas-faas-sim)))
  ((rc == 0)) || log "$tag: $tool exited with $rc (output: $raw.txt)"
  if [[ $tool == wrk ]]; then
    parsed=$(parse_wrk "$raw.txt") || parsed="0 0 0 0 0 0"
    parsed="$parsed 0"
  else
    parsed=$(parse_loadgen "$raw.json" 2>/dev/null | cut -d' ' -f1-7) || parsed="0 0 0 0 0 0 0"
  fi
  local requests secs rps p50 p99 failed lag load1 busy soft client hap srv other
  read -r requests secs rps p50 p99 failed lag <<<"$parsed"
  load1=$(cut -d' ' -f1 /proc/loadavg)
  busy=$(awk -v d=$((b1 - b0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
  soft=$(awk -v d=$((s1 - s0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
  client=$(children_cpu "$raw.times")
  hap=$(awk -v d=$((h1 - h0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
  srv=$(awk -v d=$((v1 - v0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }')
  # CPU outside the benchmark's own processes (client tool, faas-sims, HAProxy): other jobs on
  # the machine, plus kernel work that ran while another task was current (ksoftirqd, ...).
  other=$(awk -v b="$busy" -v c="$client" -v h="$hap" -v s="$srv" 'BEGIN { printf "%.2f", b - c - h - s }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$round" "$scen" "$mode" "$tool" "$requests" "$secs" "$rps" "$p50" "$p99" "$failed" \
    "$busy" "$soft" "$client" "$hap" "$srv" "$load1" "$lag" "$other" >>"$TSV"
  log "$(printf '%-3s %-8s %-5s %-7s %9.0f req/s  p50 %6s us  p99 %7s us  failed %s  (load %s, other CPU %s s)' \
    "r$round" "$scen" "$mode" "$tool" "$rps" "$p50" "$p99" "$failed" "$load1" "$other")"
}

run_rounds() {
  printf 'round\tscenario\tmode\ttool\trequests\tseconds\treq_per_s\tp50_us\tp99_us\tfailed\tcpu_busy_s\tcpu_softirq_s\tcpu_client_s\tcpu_haproxy_s\tcpu_servers_s\tload1\tlag_p99_us\tcpu_other_s\n' >"$TSV"
  local round order scen mode tool i
  for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SCENARIOS[@]}")
    if ((round % 2 == 0)); then
      order=()
      for ((i = ${#SCENARIOS[@]} - 1; i >= 0; i--)); do order+=("${SCENARIOS[i]}"); done
    fi
    log "round $round/$ROUNDS: ${order[*]}"
    for scen in "${order[@]}"; do
      scen_up "$scen"
      for mode in ka close; do
        for tool in wrk loadgen; do
          measure "$round" "$scen" "$mode" "$tool"
          sleep "$SETTLE"
        done
      done
      if [[ $scen == ent* ]]; then entry_cpu "$round" "$scen"; fi
      scen_down "$scen" "r$round"
    done
  done
}

# ---- BPF micro-benchmarks -----------------------------------------------------------------

run_bpf() {
  log "BPF paths: dfaas-bench-bpf (repetitions $BPF_REPS, min time ${BPF_MIN}s)"
  "$BIN/dfaas-bench-bpf" --benchmark_min_time="$BPF_MIN" --benchmark_repetitions="$BPF_REPS" \
    --benchmark_filter="$BPF_FILTER" \
    --benchmark_out="$OUT/raw/bpf.json" --benchmark_out_format=json >"$OUT/raw/bpf.txt" 2>&1 ||
    {
      cat "$OUT/raw/bpf.txt" >&2
      die "dfaas-bench-bpf failed"
    }
}

# ---- policy updates -----------------------------------------------------------------------

run_policy_cost() {
  log "policy-update cost (1 write, 1000 writes over 250 functions)"
  dp_up
  in_ns a "$BIN/dfaas-bench-churn" cost --bpffs "$E2E_RUN/bpf/a" --peer "$IP_B" --functions 250 \
    --writes 1000 --single "$COST_SINGLE" --repeat "$COST_REPEAT" >"$OUT/raw/policy-cost.txt"
  dp_down policy-cost
}

# loadgen_bg MODE URL OUTPUT: the constant load of a churn run, in the background (LG_PID).
loadgen_bg() {
  local args=("$BIN/dfaas-loadgen" --rate "$(lg_rate "$1")"
    --duration "${CHURN_S}s" --target "$2" --timeout 5s --json --quiet --output "$3")
  [[ $1 == ka ]] && args+=(--keepalive)
  ip netns exec "$(ns_of client)" "${args[@]}" >"$3.log" 2>&1 &
  LG_PID=$!
  E2E_PIDS+=("$LG_PID")
}

loadgen_wait() {
  wait "$LG_PID" || log "loadgen exited with $? ($1.log)"
  forget_pid "$LG_PID"
}

# churn_row SYSTEM MODE REPORT UPDATES COST NOTES
churn_row() {
  local requests secs tput p50 p99 failed lag retries kinds
  read -r requests secs _ p50 p99 failed lag retries <<<"$(parse_loadgen "$3")"
  kinds=$(json_flat "$3" | awk '($1 ~ /^error_kinds\./ && $2 > 0) || ($1 ~ /^status_codes\./ && $1 != "status_codes.200") {
    printf "%s%s=%s", sep, $1, $2; sep = " " }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" \
    "$(lg_rate "$2")" "$requests" "$failed" "$p50" "$p99" "$4" "$5" \
    "$(served_by "$3")" "retries=$retries ${kinds:-no errors} $6" >>"$CHURN_TSV"
  log "churn $1 $2: $requests requests, $failed failed, $4 updates (${kinds:-no errors})"
}

run_churn() {
  printf 'system\tmode\trate\trequests\tfailed\tp50_us\tp99_us\tupdates\tupdate_cost\tserved_by\tnotes\n' >"$CHURN_TSV"
  local mode out
  for mode in $CHURN_MODES; do
    # dfaas: the policy of the function on A:31000 rewritten every 100 ms (local/B weights).
    dp_up
    out="$OUT/raw/churn-dfaas-$mode"
    loadgen_bg "$mode" "$(url_of fwd)" "$out.json"
    in_ns a "$BIN/dfaas-bench-churn" churn --bpffs "$E2E_RUN/bpf/a" --function echo \
      --peer "$IP_B" --interval-ms 100 --duration-s "$CHURN_S" >"$out.churn.txt"
    loadgen_wait "$out.json"
    dp_down "churn-$mode"
    local updates p50 max
    updates=$(awk -F= '$1 == "updates" { print $2 }' "$out.churn.txt")
    p50=$(awk -F= '$1 == "write_ns_p50" { printf "%.1f", $2 / 1000 }' "$out.churn.txt")
    max=$(awk -F= '$1 == "write_ns_max" { printf "%.1f", $2 / 1000 }' "$out.churn.txt")
    churn_row dfaas "$mode" "$out.json" "$updates" "write p50 ${p50} µs, max ${max} µs" ""

    # HAProxy as the reference: rewrite the weights in haproxy.cfg and reload the master
    # (SIGUSR2, as the reference's Data Plane API does) every 100 ms.
    out="$OUT/raw/churn-haproxy-$mode"
    local cfg="$E2E_RUN/hap-churn.cfg" sock="$E2E_RUN/hap-churn.sock" weights=(100 70 50 30 0 30 50 70)
    bench_haproxy_ref "$cfg" "$IP_A:$HAP_CHURN_PORT" "$IP_A" "$IP_A:$GW_PORT" "$IP_B:$GW_PORT" 100 0 "$sock"
    hap_start churn "$cfg" "$(url_of hapchurn)"
    loadgen_bg "$mode" "$(url_of hapchurn)" "$out.json"
    local reloads=0 t0 end next now w slowest=0
    t0=$(date +%s%N)
    end=$((t0 + CHURN_S * 1000000000))
    next=$t0
    while :; do
      now=$(date +%s%N)
      ((now < end)) || break
      if ((now < next)); then
        sleep "$(awk -v ns=$((next - now)) 'BEGIN { printf "%.4f", ns / 1e9 }')"
      fi
      w=${weights[reloads % ${#weights[@]}]}
      now=$(date +%s%N)
      bench_haproxy_ref "$cfg" "$IP_A:$HAP_CHURN_PORT" "$IP_A" "$IP_A:$GW_PORT" "$IP_B:$GW_PORT" \
        "$w" $((100 - w)) "$sock"
      kill -USR2 "$HAP_PID"
      w=$(($(date +%s%N) - now))
      ((w > slowest)) && slowest=$w
      reloads=$((reloads + 1))
      next=$((next + 100000000))
    done
    loadgen_wait "$out.json"
    local alive=no procs
    kill -0 "$HAP_PID" 2>/dev/null && alive=yes
    procs=$(for p in $(ip netns pids "$NS_A"); do cat "/proc/$p/comm" 2>/dev/null; done | grep -c '^haproxy$' || true)
    hap_stop
    churn_row haproxy "$mode" "$out.json" "$reloads" \
      "reload every 100 ms (config write + signal ≤ $((slowest / 1000)) µs)" \
      "master alive=$alive, haproxy processes at end=$procs"
  done
}

# ---- profiles (--perf) --------------------------------------------------------------------

run_perf() {
  local scen mode args data
  for scen in route fwd; do
    scen_up "$scen"
    for mode in close ka; do
      data="$OUT/raw/perf-$scen-$mode.data"
      args=(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --timeout 5s -s "$E2E_RUN/report.lua")
      [[ $mode == close ]] && args+=(-H 'Connection: close')
      log "perf: $scen $mode"
      perf record -a -g -F 999 -o "$data" -- sleep "$DURATION" >"$data.log" 2>&1 &
      local ppid=$!
      in_ns client "${args[@]}" "$(url_of "$scen")" >"$OUT/raw/perf-$scen-$mode.wrk.txt" 2>&1
      wait "$ppid" || true
      perf report -i "$data" --stdio --no-children --sort sym -g none --percent-limit 0.7 \
        >"$OUT/raw/perf-$scen-$mode.txt" 2>/dev/null || true
      perf report -i "$data" --stdio --no-children --sort comm -g none \
        >"$OUT/raw/perf-$scen-$mode.comm.txt" 2>/dev/null || true
    done
    scen_down "$scen" perf
  done
}

# ---- agent cost ----------------------------------------------------------------------------

# agent_cost_functions DIR: light/mid/heavy.yaml of the lab with AGENT_FUNCTIONS functions each
# (echo, a port each from 31001, maxrates and groups in turn), as every node of the federation runs.
agent_cost_functions() {
  mkdir -p "$1"
  python3 - "$1" "$AGENT_FUNCTIONS" <<'PY'
import sys
out, count = sys.argv[1], int(sys.argv[2])
groups = ["LOW_USAGE", "MEDIUM_USAGE", "HIGH_USAGE"]
lines = ["functions:"]
for i in range(count):
    lines += [f"  - name: fn{i:03d}", "    behaviour: echo", "    sleep_ms: 1", "    replicas: 1",
              "    max_inflight: 10", "    labels:", f'      dfaas.maxrate: "{50 + 10 * (i % 10)}"',
              f"      dfaas.group: {groups[i % 3]}", f'      dfaas.port: "{31001 + i}"']
for node_type in ("light", "mid", "heavy"):
    with open(f"{out}/{node_type}.yaml", "w") as f:
        f.write("\n".join(lines) + "\n")
PY
}

# agent_cpu_rss PID: "utime+stime ticks, VmRSS kB, VmHWM kB" of a process.
agent_cpu_rss() {
  local ticks rss hwm
  ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status")
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$1/status")
  echo "$ticks $rss $hwm"
}

# The agent of node a in a lab of AGENT_NODES nodes (10 peers), every node with AGENT_FUNCTIONS
# functions, Recalc with a 5 s period: CPU and RSS over AGENT_SECONDS once every peer is alive,
# and the duration of its strategy steps (gather from the gateway and Prometheus, decide,
# install), from its own metrics. A lab of its own, torn down at the end.
run_agent_cost() {
  local lab_id="bc$$" out="$OUT/raw/agent-cost.txt" dir="$E2E_RUN/agent-cost-functions"
  local lab=("$ROOT/scripts/lab.sh")
  log "agent cost: a $AGENT_NODES-node lab, $AGENT_FUNCTIONS functions per node, Recalc, period 5 s"
  agent_cost_functions "$dir"
  AGENT_LAB_ID=$lab_id
  if ! DFAAS_LAB_ID=$lab_id "${lab[@]}" up --nodes "$AGENT_NODES" --strategy recalc --period 5s \
    --functions "$dir" >"$OUT/raw/agent-cost-lab.txt" 2>&1; then
    echo "agent cost: the lab did not come up (raw/agent-cost-lab.txt)" >"$out"
    AGENT_LAB_ID=""
    return 0
  fi
  local peers=$((AGENT_NODES - 1)) deadline=$((SECONDS + 90)) alive=0 api=http://127.0.0.1:9080
  while ((SECONDS < deadline)); do
    alive=$(DFAAS_LAB_ID=$lab_id "${lab[@]}" exec a curl -s --max-time 2 "$api/v1/peers" |
      python3 -c 'import json,sys; print(sum(p["state"] == "alive" for p in json.load(sys.stdin)))' 2>/dev/null || echo 0)
    ((alive == peers)) && break
    sleep 1
  done
  local pid
  pid=$(for p in $(ip netns pids "df-$lab_id-a"); do
    [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == dfaas-agent ]] && echo "$p"; done | head -1)
  local t0 r0 h0 t1 r1 h1 metrics0 metrics1
  metrics0=$(DFAAS_LAB_ID=$lab_id "${lab[@]}" exec a curl -s --max-time 2 "$api/metrics")
  read -r t0 r0 h0 <<<"$(agent_cpu_rss "$pid")"
  sleep "$AGENT_SECONDS"
  read -r t1 r1 h1 <<<"$(agent_cpu_rss "$pid")"
  metrics1=$(DFAAS_LAB_ID=$lab_id "${lab[@]}" exec a curl -s --max-time 2 "$api/metrics")
  DFAAS_LAB_ID=$lab_id "${lab[@]}" exec a curl -s --max-time 2 "$api/v1/status" >"$OUT/raw/agent-cost-status.json" || true
  printf '%s\n' "$metrics1" >"$OUT/raw/agent-cost-metrics.txt"
  DFAAS_LAB_ID=$lab_id "${lab[@]}" down >>"$OUT/raw/agent-cost-lab.txt" 2>&1 || true
  AGENT_LAB_ID=""
  metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$2"; }
  local steps sum functions
  steps=$(awk -v a="$(metric dfaas_strategy_step_duration_seconds_count "$metrics0")" \
    -v b="$(metric dfaas_strategy_step_duration_seconds_count "$metrics1")" 'BEGIN { print b - a }')
  sum=$(awk -v a="$(metric dfaas_strategy_step_duration_seconds_sum "$metrics0")" \
    -v b="$(metric dfaas_strategy_step_duration_seconds_sum "$metrics1")" 'BEGIN { print b - a }')
  functions=$(metric dfaas_functions "$metrics1")
  {
    echo "nodes=$AGENT_NODES"
    echo "peers_alive=$alive"
    echo "functions=${functions:-?}"
    echo "seconds=$AGENT_SECONDS"
    awk -v d=$((t1 - t0)) -v hz="$HZ" -v s="$AGENT_SECONDS" 'BEGIN { printf "cpu_seconds=%.2f\ncpu_percent=%.2f\n", d / hz, 100 * d / hz / s }'
    echo "rss_kb=$r1"
    echo "rss_peak_kb=$h1"
    echo "steps=$steps"
    awk -v n="$steps" -v s="$sum" 'BEGIN { if (n > 0) printf "step_mean_ms=%.2f\n", 1000 * s / n }'
    awk -v v="$(metric dfaas_strategy_last_duration_seconds "$metrics1")" 'BEGIN { printf "step_last_ms=%.2f\n", 1000 * v }'
  } >"$out"
}

agent_cost_text() {
  awk -F= '{ v[$1] = $2 } END {
    if (!("cpu_seconds" in v)) { while ((getline line < FILENAME) > 0) print line; exit }
    printf "- dfaas-agent of one node in a %d-node lab (%d of %d peers alive), %s functions, Recalc, period 5 s, no load, over %d s:\n", v["nodes"], v["peers_alive"], v["nodes"] - 1, v["functions"], v["seconds"]
    printf "  CPU %.2f s (%.2f %% of one core), RSS %.1f MiB (peak %.1f MiB)\n", v["cpu_seconds"], v["cpu_percent"], v["rss_kb"] / 1024, v["rss_peak_kb"] / 1024
    printf "- strategy step (gather from the gateway and Prometheus, decide, install): mean %s ms over %d steps, last %s ms\n", v["step_mean_ms"], v["steps"], v["step_last_ms"]
  }' "$1"
}

# ---- summary ------------------------------------------------------------------------------

machine_info() {
  {
    echo "date: $(date -Is)"
    echo "kernel: $(uname -r) ($(uname -v))"
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|Hypervisor|L[123])'
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "haproxy: $(haproxy -v | head -1)"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    echo "iptables: $(iptables -V)"
    echo "git: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "profile: $PROFILE, rounds $ROUNDS, $DURATION s per measurement, churn $CHURN_S s ($CHURN_MODES)"
    echo "wrk: -t$WRK_THREADS -c$WRK_CONNS; loadgen: keep-alive $LG_KA req/s, conn/request $LG_CLOSE req/s"
    echo "namespaces: net.ipv4.tcp_timestamps=$TCP_TS, ip_forward=1 on A and B, ICMP redirects off"
    echo "faas-sim: --threads $SIM_THREADS --backlog 4096, function echo (GET, empty body)"
  } >"$OUT/raw/machine.txt"
}

write_summary() {
  {
    echo "# Benchmark run $(basename "$OUT")"
    echo
    echo '```'
    cat "$OUT/raw/machine.txt"
    echo "load average at start: $LOAD_START"
    echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
    [[ -s "$TSV" ]] && awk -F'\t' 'NR > 1 { v[++n] = $16 } END {
      for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      if (n) printf "1-min load average over the %d measurements: median %s, min %s, max %s\n", n, v[int((n + 1) / 2)], v[1], v[n] }' "$TSV"
    [[ -s "$TSV" ]] && awk -F'\t' 'NR > 1 && $11 >= 1 { v[++n] = ($18 > 0 ? $18 : 0) / $11 } END {
      for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      if (n) printf "CPU outside the benchmark processes (windows with >= 1 CPU s busy), share of busy time: median %.0f%%, min %.0f%%, max %.0f%%\n", 100 * v[int((n + 1) / 2)], 100 * v[1], 100 * v[n] }' "$TSV"
    echo '```'
    echo
    echo "Figures: medians over $ROUNDS round(s), (min–max) across rounds; ratios are ratios of"
    echo "medians with the per-round paired ratios in parentheses. CPU s/10k req, machine = all busy"
    echo "CPU time of both cores (/proc/stat) per 10 000 requests: client, both nodes, the kernel's"
    echo "packet processing and anything else running."
    echo
    [[ -s "$TSV" ]] && bench_summary "$TSV" "$([[ -s "$CHURN_TSV" ]] && echo "$CHURN_TSV")"
    if compgen -G "$OUT/raw/dpstats-r*.json" >/dev/null; then
      echo
      echo "### Data-plane counters over the measured rounds (dfaasctl dp stats)"
      echo
      dp_counters_table "$OUT/raw"
    fi
    if [[ -s "$CHURN_TSV" ]]; then
      echo
      echo "### Policy churn: weights changed every 100 ms under constant load ($CHURN_S s)"
      echo
      churn_table "$CHURN_TSV"
    fi
    if [[ -s "$OUT/raw/policy-cost.txt" ]]; then
      echo
      echo "### Policy-update cost (dfaas-bench-churn cost, through the control library)"
      echo
      awk -F= '
        /_ns_/ { v[$1] = $2 / 1000 } { c[$1] = $2 }
        END {
          printf "- one policy write (set_policy, visible to the next SYN when it returns): p50 %.1f µs, p99 %.1f µs, min %.1f µs, max %.1f µs over %d writes\n", v["single_write_ns_p50"], v["single_write_ns_p99"], v["single_write_ns_min"], v["single_write_ns_max"], c["single_samples"]
          printf "- %d policy writes over %d functions: p50 %.2f ms, min %.2f ms, max %.2f ms over %d repetitions\n", c["batch_writes"], c["functions"], v["batch_ns_p50"] / 1000, v["batch_ns_min"] / 1000, v["batch_ns_max"] / 1000, c["batch_repeat"]
          if ("stats_read_ns_p50" in c)
            printf "- the control tick'"'"'s counter read (Dataplane::stats()) with %d functions: p50 %.2f ms (min %.2f, max %.2f) without HTTP rows, p50 %.2f ms (min %.2f, max %.2f) with %d rows in dfaas_http_stats, over %d reads each\n", c["functions"], v["stats_read_ns_p50"] / 1000, v["stats_read_ns_min"] / 1000, v["stats_read_ns_max"] / 1000, v["stats_read_http_ns_p50"] / 1000, v["stats_read_http_ns_min"] / 1000, v["stats_read_http_ns_max"] / 1000, c["http_rows"], c["batch_repeat"]
        }' "$OUT/raw/policy-cost.txt"
    fi
    if [[ -s "$OUT/raw/bpf.json" ]]; then
      echo
      echo "### BPF paths, ns/packet (BPF_PROG_TEST_RUN, $BPF_REPS repetition(s))"
      echo
      bpf_table "$OUT/raw/bpf.json"
    fi
    echo
    if [[ -s "$OUT/raw/agent-cost.txt" ]]; then
      echo
      echo "### Agent cost"
      echo
      agent_cost_text "$OUT/raw/agent-cost.txt"
    fi
  } >"$OUT/summary.md"
}

# ---- smoke assertions ---------------------------------------------------------------------

smoke_checks() {
  local scen mode tool line
  for scen in "${SCENARIOS[@]}"; do
    for mode in ka close; do
      for tool in wrk loadgen; do
        line=$(awk -F'\t' -v s="$scen" -v m="$mode" -v t="$tool" '$2 == s && $3 == m && $4 == t { print $5, $10 }' "$TSV")
        check "$scen $mode $tool served requests without failures (requests failed: ${line:-none})" \
          awk -v l="$line" 'BEGIN { split(l, a, " "); exit !(a[1] > 0 && a[2] == 0) }'
      done
    done
  done
  if ((DO_CHURN)); then
    line=$(awk -F'\t' '$1 == "dfaas" { print $4, $5, $8 }' "$CHURN_TSV" | head -1)
    check "dfaas policy churn: requests, no failures, updates (${line:-none})" \
      awk -v l="$line" 'BEGIN { split(l, a, " "); exit !(a[1] > 0 && a[2] == 0 && a[3] > 0) }'
    line=$(awk -F'\t' '$1 == "haproxy" { print $4, $8 }' "$CHURN_TSV" | head -1)
    check "HAProxy reload churn ran (requests reloads: ${line:-none})" \
      awk -v l="$line" 'BEGIN { split(l, a, " "); exit !(a[1] > 0 && a[2] > 0) }'
  fi
  if ((DO_COST)); then
    check "policy-update cost measured" grep -q '^single_write_ns_p50=' "$OUT/raw/policy-cost.txt"
  fi
  if ((DO_BPF)); then
    check "BPF benchmarks ran (noop and forward paths)" \
      bash -c "grep -q BM_Harness_Noop '$OUT/raw/bpf.json' && grep -q BM_Established_Forward '$OUT/raw/bpf.json'"
  fi
  if ((DO_AGENT)); then
    check "agent cost measured ($(tr '\n' ' ' <"$OUT/raw/agent-cost.txt"))" \
      grep -q '^cpu_seconds=' "$OUT/raw/agent-cost.txt"
  fi
  check "summary written" grep -q '### Targets' "$OUT/summary.md"
  check "results.csv written" grep -q '^closed,fwd,ka,req_per_s,' "$OUT/results.csv"
  if command -v gnuplot >/dev/null; then
    check "plots drawn" test -s "$OUT/bench-throughput.png" -a -s "$OUT/bench-latency.png"
  fi
}

# ---- main ---------------------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "results in $OUT (profile $PROFILE; load average $LOAD_START)"
machine_info
((DO_BPF)) && run_bpf
setup_topology
run_rounds
((DO_COST)) && run_policy_cost
((DO_CHURN)) && run_churn
((DO_PERF)) && run_perf
((DO_AGENT)) && run_agent_cost
write_summary
cat "$OUT/summary.md"
# The figures as CSV and their plots (the plots are a bonus: a machine without gnuplot keeps
# the CSV and summary).
if [[ -s "$TSV" ]]; then
  results_csv "$TSV" "$OUT/raw/bpf.json" "$OUT/raw/machine.txt" >"$OUT/results.csv"
  if command -v gnuplot >/dev/null; then
    bench_report "$OUT/results.csv" "$OUT" >&2 || log "plots: gnuplot failed, see above"
  else
    log "plots: gnuplot is not installed; scripts/bench.sh --report $OUT draws them later"
  fi
fi
if [[ $PROFILE == smoke ]]; then
  smoke_checks
  e2e_finish
fi
